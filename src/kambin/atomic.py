"""Writing without leaving anything half-written (ground rule: a failure writes nothing).

A file goes to a temporary name beside its destination and is renamed over it when complete; a
directory of files is built as a hidden sibling and renamed into place at the end. The rename is
atomic on POSIX because both names are on the same file system. Every writer in kambin uses these.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kambin.errors import InvalidInputError, UnreadableFileError


@contextmanager
def atomic_file(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed.

    `suffix` is appended to the temporary name for writers that choose the format by extension
    (ITK, OpenCV).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise UnreadableFileError(f"{path.parent}: output directory does not exist")
    temporary = path.with_name(f".{path.name}.partial{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (UTF-8) atomically and return its path."""
    with atomic_file(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def check_new_directory(path: str | os.PathLike) -> Path:
    """A directory to create: it must be new or empty, and its parent must exist."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out}: exists and is not a directory; choose a new or empty directory")
    if out.exists() and any(out.iterdir()):
        raise InvalidInputError(f"{out}: directory is not empty; choose a new or empty directory")
    if not out.absolute().parent.is_dir():
        raise UnreadableFileError(f"{out.absolute().parent}: parent directory does not exist; create it first")
    return out


@contextmanager
def staged_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden sibling directory to fill; on success it becomes `path` (new or empty), on
    failure it is removed with everything in it."""
    final = check_new_directory(path)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.absolute().parent))
    try:
        yield staging
        if final.exists():
            final.rmdir()
        os.replace(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging)

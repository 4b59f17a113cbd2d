"""Reading point lists and pose lists from text files (one point or one 4x4 per line)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kambin.errors import UnreadableFileError


def _rows(path: Path, width: int, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"{what} file {path} does not exist")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].replace(",", " ").strip()
        if not text:
            continue
        try:
            values = [float(v) for v in text.split()]
        except ValueError:
            raise UnreadableFileError(f"{path} line {number}: not numbers: {text[:60]!r}") from None
        if len(values) != width:
            raise UnreadableFileError(f"{path} line {number}: {len(values)} numbers, expected {width} ({what})")
        rows.append(values)
    if not rows:
        raise UnreadableFileError(f"{path} holds no {what}")
    return np.array(rows, dtype=np.float64)


def read_points(path: Path | str) -> np.ndarray:
    """(N, 3) points, one `x y z` per line (commas allowed, `#` starts a comment)."""
    return _rows(Path(path), 3, "points (x y z per line)")


def read_poses(path: Path | str) -> np.ndarray:
    """(N, 4, 4) matrices, one row-major 4x4 (16 numbers) per line."""
    return _rows(Path(path), 16, "poses (16 numbers, a row-major 4x4, per line)").reshape(-1, 4, 4)

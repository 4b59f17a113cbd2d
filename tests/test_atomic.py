"""Atomic writers: a failure leaves nothing behind, success replaces the destination."""

import pytest

from kambin.atomic import atomic_file, check_new_directory, staged_directory, write_text_atomic
from kambin.errors import InvalidInputError, UnreadableFileError


def test_file_is_replaced_only_on_success(tmp_path):
    path = write_text_atomic(tmp_path / "plan.json", "old")
    with pytest.raises(RuntimeError), atomic_file(path) as temporary:
        temporary.write_text("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    write_text_atomic(path, "new")
    assert path.read_text() == "new"
    with pytest.raises(UnreadableFileError, match="output directory does not exist"):
        write_text_atomic(tmp_path / "no" / "x.json", "x")


def test_directory_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError), staged_directory(tmp_path / "out") as staging:
        (staging / "ct.nii.gz").write_text("partial")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with staged_directory(tmp_path / "out") as staging:
        (staging / "ct.nii.gz").write_text("whole")
    assert (tmp_path / "out" / "ct.nii.gz").read_text() == "whole"
    with pytest.raises(InvalidInputError, match="not empty"):
        check_new_directory(tmp_path / "out")
    with pytest.raises(UnreadableFileError, match="parent directory does not exist"):
        check_new_directory(tmp_path / "a" / "b")

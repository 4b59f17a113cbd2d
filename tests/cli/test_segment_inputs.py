"""`kambin segment` refuses bad input through the installed console script: one line on stderr,
exit 1, no traceback, nothing written next to the requested output."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from kambin.anatomy.external import totalsegmentator_missing
from kambin.imaging import Volume, write_volume

KAMBIN = Path(sys.executable).parent / "kambin"


def _segment(tmp_path, *args):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.run(
        [str(KAMBIN), "segment", *map(str, args), "-o", str(out_dir / "seg.nii.gz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, sorted(p.name for p in out_dir.iterdir())


def _assert_refused(proc, written, pattern):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert pattern in lines[0], lines[0]
    assert written == []


def _lumbar_like(shape=(80, 80, 60), spacing=(1.0, 1.0, 1.0)):
    """Soft tissue in air with a column of bright blocks (enough to pass the CT checks)."""
    voxels = np.full(shape, 40.0, dtype=np.float32)
    voxels[:5] = -1000.0
    voxels[30:50, 30:50, :] = 400.0
    return Volume.from_geometry(voxels, spacing)


def _head_ct():
    """A skull: an ellipsoidal bone shell (1200 HU) around brain (35 HU), in air."""
    x, y, z = np.mgrid[-80:80:2.0, -100:100:2.0, -70:70:2.0]
    r = np.sqrt((x / 70) ** 2 + (y / 90) ** 2 + (z / 60) ** 2)
    voxels = np.full(r.shape, -1000.0, dtype=np.float32)
    voxels[r < 1.0] = 35.0
    voxels[(r >= 0.9) & (r < 1.0)] = 1200.0
    return Volume.from_geometry(voxels, (2.0, 2.0, 2.0))


def test_mr_volume_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    mr = Volume.from_geometry(rng.uniform(0, 1500, (64, 64, 48)).astype(np.float32), (1.0, 1.0, 1.0))
    path = write_volume(mr, tmp_path / "mr.nii.gz")
    proc, written = _segment(tmp_path, path)
    _assert_refused(proc, written, "not a CT in Hounsfield units")


def test_head_ct_without_lumbar_spine_is_refused(tmp_path):
    path = write_volume(_head_ct(), tmp_path / "head.nii.gz")
    proc, written = _segment(tmp_path, path)
    _assert_refused(proc, written, "no vertebral column found")


def test_five_slice_volume_is_refused(tmp_path):
    path = write_volume(_lumbar_like((100, 100, 5), (1.0, 1.0, 3.0)), tmp_path / "thin.nii.gz")
    proc, written = _segment(tmp_path, path)
    _assert_refused(proc, written, "at least 8 slices")


def test_label_map_on_another_grid_is_refused(tmp_path):
    ct = write_volume(_lumbar_like(), tmp_path / "ct.nii.gz")
    labels = Volume.from_geometry(np.full((40, 40, 30), 27, dtype=np.uint8), (2.0, 2.0, 2.0))
    label_path = write_volume(labels, tmp_path / "labels.nii.gz")
    proc, written = _segment(tmp_path, ct, "--labels-from", label_path, "--label-scheme", "totalsegmentator")
    _assert_refused(proc, written, "not on the CT's grid")
    assert "resample" in proc.stderr


def test_totalsegmentator_engine_runs_or_says_what_is_missing(tmp_path):
    ct = write_volume(_lumbar_like(), tmp_path / "ct.nii.gz")
    proc, written = _segment(tmp_path, ct, "--engine", "totalsegmentator")
    missing = totalsegmentator_missing()
    if missing:  # this machine: not installed (no downloads here); the message names what is missing
        _assert_refused(proc, written, "--engine totalsegmentator needs")
        assert missing in proc.stderr
    else:
        assert proc.returncode == 0 and written == ["seg.json", "seg.nii.gz"], proc.stderr

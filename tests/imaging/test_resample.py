"""Resampling onto an axis-aligned working grid and back."""

import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.imaging.resample import resample_axis_aligned, resample_like


def sagittal_volume() -> Volume:
    # A VerSe-like sagittal grid: k runs right to left at 3 mm, i anterior to posterior, j downward.
    direction = np.array([[0.0, 0, -1], [1, 0, 0], [0, -1, 0]])
    voxels = np.zeros((40, 50, 12), dtype=np.int16)
    voxels[10:20, 20:30, 4:8] = 1000
    return Volume.from_geometry(voxels, (1.0, 1.0, 3.0), (10.0, -20.0, 30.0), direction)


def test_bad_arguments():
    with pytest.raises(InvalidInputError, match="interpolation must be one of"):
        resample_axis_aligned(sagittal_volume(), 1.0, "cubic")
    with pytest.raises(InvalidInputError, match="spacing must be positive"):
        resample_axis_aligned(sagittal_volume(), 0.0)


def test_axis_aligned_grid_keeps_positions_and_round_trips():
    volume = sagittal_volume()
    working = resample_axis_aligned(volume, 1.0, "nearest")
    np.testing.assert_allclose(working.direction_lps, np.eye(3))
    np.testing.assert_allclose(working.spacing_mm, [1.0, 1.0, 1.0])
    # The bright box has the same LPS centre on both grids.
    centre = volume.ijk_to_lps(np.argwhere(volume.voxels > 500).mean(axis=0))
    centre_working = working.ijk_to_lps(np.argwhere(working.voxels > 500).mean(axis=0))
    np.testing.assert_allclose(centre_working, centre, atol=0.75)
    back = resample_like(working, volume, "nearest")
    assert back.same_grid(volume)
    assert np.mean(back.voxels == volume.voxels) > 0.98

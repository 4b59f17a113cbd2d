"""Storage order: the 48 ways to store a volume keep every voxel at its LPS position."""

import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.imaging.grid import reorient_like, restore, storage_orders


def test_every_storage_order_keeps_each_voxel_where_it_is():
    rng = np.random.default_rng(0)
    direction = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    volume = Volume.from_geometry(
        rng.normal(size=(4, 5, 6)).astype(np.float32), (0.7, 0.9, 2.5), (10, -20, 30), direction
    )
    orders = storage_orders()
    assert len(orders) == len(set(orders)) == 48
    probe = np.array([[1, 2, 3], [3, 0, 5], [0, 4, 0]])
    for permutation, flips in orders:
        stored = restore(volume, permutation, flips)
        assert sorted(stored.shape_ijk) == [4, 5, 6]
        for ijk in probe:
            lps = volume.ijk_to_lps(ijk.astype(float))
            there = np.round(stored.lps_to_ijk(lps)).astype(int)
            assert stored.voxels[tuple(there)] == volume.voxels[tuple(ijk)]
        assert np.array_equal(reorient_like(stored, volume).voxels, volume.voxels)


def test_restore_refuses_a_bad_permutation():
    volume = Volume.from_geometry(np.zeros((2, 2, 2), np.float32), (1, 1, 1))
    with pytest.raises(InvalidInputError, match="permutation"):
        restore(volume, (0, 0, 1), (False, False, False))


def test_crop_keeps_each_voxel_where_it_is_and_refuses_an_empty_box():
    from kambin.imaging.grid import crop_to_lps_box

    volume = Volume.from_geometry(np.arange(1000, dtype=np.float32).reshape(10, 10, 10), (1.0, 2.0, 3.0), (5, 6, 7))
    crop = crop_to_lps_box(volume, (7.0, 10.0, 13.0), (9.0, 16.0, 22.0))
    assert crop.shape_ijk == (3, 4, 4)
    for ijk in np.ndindex(crop.shape_ijk):
        there = np.round(volume.lps_to_ijk(crop.ijk_to_lps(np.asarray(ijk, float)))).astype(int)
        assert crop.voxels[ijk] == volume.voxels[tuple(there)]
    with pytest.raises(InvalidInputError, match="holds no voxel"):
        crop_to_lps_box(volume, (100.0, 100.0, 100.0), (200.0, 200.0, 200.0))

"""Filters run on slabs in threads (`imaging.slabs`) give exactly the whole volume's result."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from kambin.imaging import slabs
from kambin.imaging.slabs import filter_in_slabs


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    ("name", "filter_", "reach"),
    [
        ("maximum 7", lambda a: ndi.maximum_filter(a, size=7), 3),
        ("grey closing 7", lambda a: ndi.grey_closing(a, size=(7, 7, 7)), 6),
        ("gaussian 1.5 voxels", lambda a: ndi.gaussian_filter(a, 1.5, truncate=4.0), 6),
    ],
)
def test_slabs_give_the_whole_volumes_result(monkeypatch, order, name, filter_, reach):
    monkeypatch.setattr(slabs, "worker_count", lambda: 3)  # three slabs, two inner seams, whatever the machine
    volume = np.asarray(np.random.default_rng(0).normal(0, 100, (70, 64, 90)), dtype=np.float32, order=order)
    whole = filter_(volume)
    in_slabs = filter_in_slabs(filter_, volume, reach)
    assert in_slabs.flags.c_contiguous
    assert np.array_equal(in_slabs, whole), name


def test_a_reach_too_short_is_seen(monkeypatch):
    """The test above can fail: with half the reach the seams differ from the whole (two slabs
    whatever the machine: on one core there would be no seam to see)."""
    monkeypatch.setattr(slabs, "worker_count", lambda: 2)
    volume = np.random.default_rng(1).normal(0, 100, (80, 40, 40)).astype(np.float32)
    filter_ = lambda a: ndi.maximum_filter(a, size=9)  # noqa: E731
    assert not np.array_equal(filter_in_slabs(filter_, volume, 2), filter_(volume))


def test_a_thin_volume_is_filtered_whole(monkeypatch):
    monkeypatch.setattr(slabs, "worker_count", lambda: 2)
    volume = np.arange(10 * 5 * 5, dtype=np.float32).reshape(10, 5, 5)
    assert np.array_equal(filter_in_slabs(lambda a: a * 2, volume, 4), volume * 2)

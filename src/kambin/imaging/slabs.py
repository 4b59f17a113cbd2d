"""Local filters over a volume, run slab by slab in threads.

scipy.ndimage's filters release the GIL while they run (scipy 1.17: measured 1.23 s -> 0.65 s for
a 7-voxel maximum filter over 400x220x368 int16 voxels on 2 cores), so a filter whose output at a
voxel depends only on the input within `reach` voxels of it can run on slabs of the volume at
once: each slab is filtered with `reach` voxels of its neighbours' input around it and its own
part kept, which gives exactly the result of filtering the whole volume (the volume's own borders
are each slab's borders too, so any boundary mode is kept).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Slabs thinner than this many voxels (beyond their overlap) are not worth a thread.
MIN_SLAB_VOXELS = 16


def worker_count() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def filter_in_slabs(filter_: Callable[[np.ndarray], np.ndarray], volume: np.ndarray, reach: int) -> np.ndarray:
    """`filter_(volume)`, computed on slabs along the volume's slowest-varying axis in threads.

    `filter_` maps an array to one of the same shape, and its output at a voxel may depend on the
    input within `reach` voxels of it (along each axis) only, e.g. a maximum filter of size 2r+1
    (reach r) or a grey closing of size 2r+1 (reach 2r). The result is C-ordered.
    """
    axis = int(np.argmax(np.abs(volume.strides)))  # the slowest-varying: each slab one block of memory
    size = volume.shape[axis]
    count = min(worker_count(), size // (MIN_SLAB_VOXELS + 2 * reach))
    if count < 2:
        return np.ascontiguousarray(filter_(volume))
    bounds = np.linspace(0, size, count + 1).astype(int)

    def along(start: int, stop: int) -> tuple[slice, ...]:
        index = [slice(None)] * volume.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    def run(n: int) -> np.ndarray:
        start, stop = int(bounds[n]), int(bounds[n + 1])
        low, high = max(0, start - reach), min(size, stop + reach)
        return filter_(volume[along(low, high)])[along(start - low, stop - low)]

    with ThreadPoolExecutor(count) as pool:
        parts = list(pool.map(run, range(count)))
    out = np.empty(volume.shape, dtype=parts[0].dtype)
    for n, part in enumerate(parts):
        out[along(int(bounds[n]), int(bounds[n + 1]))] = part
    return out

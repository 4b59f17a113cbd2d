"""Boxes of a volume's grid around points in patient space (LPS mm): the soft-tissue estimates
evaluate and paint each structure only on the voxels of a box around it, not on the whole CT.
"""

from __future__ import annotations

import numpy as np

from kambin.imaging.volume import Volume


def grid_points(volume: Volume, lo_ijk: np.ndarray, hi_ijk: np.ndarray) -> tuple[tuple[slice, ...], np.ndarray]:
    """The box of voxels from `lo_ijk` to `hi_ijk` (clipped to the grid) and its voxel centres (LPS mm)."""
    lo = np.clip(np.floor(lo_ijk).astype(int), 0, np.asarray(volume.shape_ijk) - 1)
    hi = np.clip(np.ceil(hi_ijk).astype(int) + 1, lo + 1, np.asarray(volume.shape_ijk))
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    ii, jj, kk = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
    pts = volume.ijk_to_lps(np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]).astype(np.float64))
    return box, pts


def box_around(volume: Volume, points_lps_mm: np.ndarray, margin_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest (continuous) ijk of the points' bounding box widened by `margin_mm`."""
    p = np.asarray(points_lps_mm, dtype=np.float64)
    corners = np.array(
        [
            [x, y, z]
            for x in (p[:, 0].min() - margin_mm, p[:, 0].max() + margin_mm)
            for y in (p[:, 1].min() - margin_mm, p[:, 1].max() + margin_mm)
            for z in (p[:, 2].min() - margin_mm, p[:, 2].max() + margin_mm)
        ]
    )
    ijk = volume.lps_to_ijk(corners)
    return ijk.min(axis=0), ijk.max(axis=0)

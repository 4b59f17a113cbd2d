"""Rasterise shapes onto the CT grid: a painter's algorithm over bounding boxes, in z-chunks.

Each shape is evaluated only on the voxels of its bounding box, a few million at a time, so
memory stays near the size of the output arrays and time near the volume the shapes cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.anatomy.labels import label_id

CHUNK_VOXELS = 3_000_000


@dataclass(frozen=True)
class Grid:
    """An axis-aligned LPS grid: voxel (i, j, k) centre = origin + (i, j, k) * spacing."""

    origin_lps_mm: np.ndarray
    spacing_mm: np.ndarray
    shape: tuple[int, int, int]

    def axis(self, a: int) -> np.ndarray:
        return (self.origin_lps_mm[a] + self.spacing_mm[a] * np.arange(self.shape[a])).astype(np.float32)

    def index_range(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice] | None:
        i0 = np.maximum(np.floor((np.asarray(lo) - self.origin_lps_mm) / self.spacing_mm).astype(int), 0)
        i1 = np.minimum(np.ceil((np.asarray(hi) - self.origin_lps_mm) / self.spacing_mm).astype(int) + 1, self.shape)
        if np.any(i1 <= i0):
            return None
        return tuple(slice(int(a), int(b)) for a, b in zip(i0, i1, strict=True))  # type: ignore[return-value]


class Painter:
    """Holds the label map (uint8 registry ids), HU (float32) and tissue classes (uint8)."""

    def __init__(self, grid: Grid, background_hu: float = -1000.0):
        self.grid = grid
        self.labels = np.zeros(grid.shape, dtype=np.uint8)
        self.hu = np.full(grid.shape, background_hu, dtype=np.float32)
        self.tissue = np.zeros(grid.shape, dtype=np.uint8)
        self.axes = [grid.axis(a) for a in range(3)]
        self.mean_spacing_mm = float(np.mean(grid.spacing_mm))

    def paint(self, shape, label: str | None, hu, tissue: int, overwrite: tuple[str, ...] | None = None) -> int:
        """Paint `shape` (voxels with signed distance < 0); returns the voxel count painted."""
        region = self.grid.index_range(*shape.bbox_lps())
        if region is None:
            return 0
        lab = label_id(label) if label else 0
        allowed = np.array([label_id(n) for n in overwrite], dtype=np.uint8) if overwrite else None
        si, sj, sk = region
        ni, nj = si.stop - si.start, sj.stop - sj.start
        step = max(1, CHUNK_VOXELS // max(ni * nj, 1))
        xs, ys = self.axes[0][si], self.axes[1][sj]
        count = 0
        for k0 in range(sk.start, sk.stop, step):
            k1 = min(k0 + step, sk.stop)
            zs = self.axes[2][k0:k1]
            d = shape.evaluate(xs, ys, zs)
            mask = d < 0
            if allowed is not None:
                mask &= np.isin(self.labels[si, sj, k0:k1], allowed)
            if not mask.any():
                continue
            count += int(mask.sum())
            sub = (si, sj, slice(k0, k1))
            self.labels[sub][mask] = lab
            self.tissue[sub][mask] = tissue
            if callable(hu):
                x = np.broadcast_to(xs[:, None, None], d.shape)[mask]
                y = np.broadcast_to(ys[None, :, None], d.shape)[mask]
                z = np.broadcast_to(zs[None, None, :], d.shape)[mask]
                self.hu[sub][mask] = hu(x, y, z, d[mask])
            else:
                self.hu[sub][mask] = hu
        return count

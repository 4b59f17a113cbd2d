"""Shapes the painter rasterises: anything with a label, a world bounding box and a signed
distance on a rectilinear sub-grid given by its 1D x, y, z coordinates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kambin.phantom import sdf


@dataclass
class FunctionShape:
    """A shape from a function of broadcast world coordinate arrays."""

    name: str
    lo_lps_mm: np.ndarray
    hi_lps_mm: np.ndarray
    fn: Callable

    def bbox_lps(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.lo_lps_mm, float), np.asarray(self.hi_lps_mm, float)

    def evaluate(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
        d = self.fn(xs[:, None, None], ys[None, :, None], zs[None, None, :])
        return np.broadcast_to(d, (len(xs), len(ys), len(zs))).astype(np.float32, copy=False)


@dataclass
class Tube:
    """A tube of varying radius along a polyline (LPS mm): nerve roots, dural sac, vessels.

    The label map paints exactly the set `evaluate(...) < 0`, so the centreline and radii here
    are the ground truth of the same structure.
    """

    name: str
    points_lps_mm: np.ndarray
    radii_mm: np.ndarray

    def bbox_lps(self) -> tuple[np.ndarray, np.ndarray]:
        return sdf.polyline_bbox(self.points_lps_mm, self.radii_mm, margin=1.0)

    def evaluate(self, xs: np.ndarray, ys: np.ndarray, zs: np.ndarray) -> np.ndarray:
        out = np.full((len(xs), len(ys), len(zs)), np.inf, dtype=np.float32)
        p, r = self.points_lps_mm, self.radii_mm
        for n in range(len(p) - 1):
            rmax = max(r[n], r[n + 1]) + 1.0
            lo = np.minimum(p[n], p[n + 1]) - rmax
            hi = np.maximum(p[n], p[n + 1]) + rmax
            i0, i1 = np.searchsorted(xs, [lo[0], hi[0]])
            j0, j1 = np.searchsorted(ys, [lo[1], hi[1]])
            k0, k1 = np.searchsorted(zs, [lo[2], hi[2]])
            if i0 >= i1 or j0 >= j1 or k0 >= k1:
                continue
            x = xs[i0:i1, None, None]
            y = ys[None, j0:j1, None]
            z = zs[None, None, k0:k1]
            dist, t = sdf.segment_distance(x, y, z, p[n], p[n + 1])
            d = dist - (r[n] + t * (r[n + 1] - r[n]))
            np.minimum(out[i0:i1, j0:j1, k0:k1], d, out=out[i0:i1, j0:j1, k0:k1])
        return out

    def sdf_broadcast(self, x, y, z, limit: float = 5.0) -> np.ndarray:
        """Signed distance on broadcast coordinate arrays, exact where it is below `limit` mm;
        elsewhere some value above `limit` (points far from the tube are skipped)."""
        shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
        out = np.full(shape, 1e3, dtype=np.float32)
        lo, hi = self.bbox_lps()
        lo, hi = lo - limit, hi + limit
        inside = (np.broadcast_to(x, shape) >= lo[0]) & (np.broadcast_to(x, shape) <= hi[0])
        inside &= (np.broadcast_to(y, shape) >= lo[1]) & (np.broadcast_to(y, shape) <= hi[1])
        inside &= (np.broadcast_to(z, shape) >= lo[2]) & (np.broadcast_to(z, shape) <= hi[2])
        if inside.any():
            pts = np.column_stack([np.broadcast_to(c, shape)[inside] for c in (x, y, z)])
            out[inside] = np.minimum(self.sdf_points(pts, limit=limit), 1e3)
        return out

    def sdf_points(self, points: np.ndarray, limit: float | None = None) -> np.ndarray:
        """Signed distance at world points (N, 3)."""
        pts = np.asarray(points, dtype=np.float64)
        best = np.full(len(pts), np.inf)
        p, r = self.points_lps_mm, self.radii_mm
        for n in range(len(p) - 1):
            sel = slice(None)
            if limit is not None:
                reach = max(r[n], r[n + 1]) + limit
                lo = np.minimum(p[n], p[n + 1]) - reach
                hi = np.maximum(p[n], p[n + 1]) + reach
                sel = np.flatnonzero(np.all((pts >= lo) & (pts <= hi), axis=1))
                if len(sel) == 0:
                    continue
            q = pts[sel]
            dist, t = sdf.segment_distance(q[:, 0], q[:, 1], q[:, 2], p[n], p[n + 1])
            best[sel] = np.minimum(best[sel], dist - (r[n] + t * (r[n + 1] - r[n])))
        return best

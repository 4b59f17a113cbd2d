"""A tube: a centreline with a radius per point (the sac, a nerve root)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree


def densify(points: np.ndarray, radii: np.ndarray, step_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """The polyline resampled every `step_mm` or less (end points kept), radii interpolated."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(np.ceil(s[-1] / step_mm)), 1) + 1
    t = np.linspace(0.0, s[-1], n)
    dense = np.stack([np.interp(t, s, points[:, a]) for a in range(3)], axis=1)
    return dense, np.interp(t, s, radii)


@dataclass
class Tube:
    """A centreline (N, 3) LPS mm with a radius (mm) per point."""

    name: str
    points_lps_mm: np.ndarray
    radii_mm: np.ndarray

    def distance_mm(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Signed distance from points to the tube's surface (negative inside), by nearest sample."""
        dense, radii = densify(self.points_lps_mm, self.radii_mm, 0.3)
        d, i = cKDTree(dense).query(np.asarray(points_lps_mm, dtype=np.float64))
        return d - radii[i]

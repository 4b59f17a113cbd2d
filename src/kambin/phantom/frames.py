"""Local frames of the synthetic spine: origin and axes in LPS mm.

A frame's axes are u (toward the patient's left), v (posterior) and w (superior) of one
vertebra, disc or joint; for the lordotic spine they are LPS rotated about the x axis by the
sagittal tilt phi (positive phi tilts w anteriorly, toward -y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sagittal_axes(phi_rad: float) -> np.ndarray:
    """3x3 matrix whose columns are u, v, w for a sagittal tilt phi (radians)."""
    c, s = np.cos(phi_rad), np.sin(phi_rad)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def up_vector(phi_rad: float) -> np.ndarray:
    """The w axis (superior, tilted anteriorly by phi) in LPS."""
    return np.array([0.0, -np.sin(phi_rad), np.cos(phi_rad)])


@dataclass(frozen=True)
class Frame:
    """An orthonormal frame: `origin_lps_mm` and `axes_lps` (columns u, v, w)."""

    origin_lps_mm: np.ndarray
    axes_lps: np.ndarray

    def to_local(self, x, y, z):
        """Broadcast world coordinate arrays to local (u, v, w) arrays (float32)."""
        o, r = self.origin_lps_mm, self.axes_lps
        dx, dy, dz = x - o[0], y - o[1], z - o[2]
        out = []
        for c in range(3):
            terms = [d * r[a, c] for a, d in enumerate((dx, dy, dz)) if abs(r[a, c]) > 1e-12]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            out.append(np.asarray(total, dtype=np.float32))
        return out

    def point(self, u: float, v: float, w: float) -> np.ndarray:
        """World LPS position of local (u, v, w)."""
        return self.origin_lps_mm + self.axes_lps @ np.array([u, v, w], dtype=np.float64)

    def points(self, uvw: np.ndarray) -> np.ndarray:
        """World positions of local points (N, 3)."""
        return np.asarray(uvw, dtype=np.float64) @ self.axes_lps.T + self.origin_lps_mm

    def local_points(self, lps: np.ndarray) -> np.ndarray:
        """Local (u, v, w) of world points (N, 3)."""
        return (np.asarray(lps, dtype=np.float64) - self.origin_lps_mm) @ self.axes_lps

    def direction(self, u: float, v: float, w: float) -> np.ndarray:
        """World direction of a local direction (normalised)."""
        d = self.axes_lps @ np.array([u, v, w], dtype=np.float64)
        return d / np.linalg.norm(d)

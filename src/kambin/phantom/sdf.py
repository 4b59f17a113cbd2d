"""Signed-distance primitives evaluated on broadcast coordinate arrays (mm, negative inside).

Every function takes coordinates already expressed in the primitive's own frame (arrays that
broadcast against each other) and returns float32 distances. The ellipse and ellipsoid
distances are Quilez's first-order approximation (exact on the surface, within a few percent
near it), which is what the painter needs: the sign, and the distance within a few mm.

References
----------
I. Quilez, "Ellipsoid SDF" and "Smooth minimum" (iquilezles.org/articles), 2008-2013.
"""

from __future__ import annotations

import numpy as np

from kambin.geometry.spline import catmull_rom


def ellipse2d(a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    """Approximate signed distance to an ellipse with semi-axes (ra, rb), centred at 0."""
    k0 = np.sqrt((a / ra) ** 2 + (b / rb) ** 2)
    k1 = np.sqrt((a / ra**2) ** 2 + (b / rb**2) ** 2)
    return (k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)).astype(np.float32)


def ellipsoid(a: np.ndarray, b: np.ndarray, c: np.ndarray, ra: float, rb: float, rc: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipsoid centred at 0."""
    k0 = np.sqrt((a / ra) ** 2 + (b / rb) ** 2 + (c / rc) ** 2)
    k1 = np.sqrt((a / ra**2) ** 2 + (b / rb**2) ** 2 + (c / rc**2) ** 2)
    return (k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)).astype(np.float32)


def box(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, half: tuple[float, float, float], rounding: float = 0.0
) -> np.ndarray:
    """Exact signed distance to a box of half-sizes `half`, its edges rounded by `rounding`."""
    qa = np.abs(a) - (half[0] - rounding)
    qb = np.abs(b) - (half[1] - rounding)
    qc = np.abs(c) - (half[2] - rounding)
    outside = np.sqrt(np.maximum(qa, 0) ** 2 + np.maximum(qb, 0) ** 2 + np.maximum(qc, 0) ** 2)
    inside = np.minimum(np.maximum(np.maximum(qa, qb), qc), 0)
    return (outside + inside - rounding).astype(np.float32)


def smooth_union(d1: np.ndarray, d2: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum: a union with a fillet of about k mm."""
    if k <= 0:
        return np.minimum(d1, d2)
    h = np.clip(0.5 + 0.5 * (d2 - d1) / k, 0.0, 1.0)
    return (d2 * (1 - h) + d1 * h - k * h * (1 - h)).astype(np.float32)


def segment_distance(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, p0: np.ndarray, p1: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to the segment p0-p1 (world frame) and the parameter t in [0, 1]."""
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p0, dtype=np.float64)
    length2 = float(d @ d)
    rx, ry, rz = x - p0[0], y - p0[1], z - p0[2]
    t = np.clip((rx * d[0] + ry * d[1] + rz * d[2]) / max(length2, 1e-12), 0.0, 1.0)
    dist = np.sqrt((rx - t * d[0]) ** 2 + (ry - t * d[1]) ** 2 + (rz - t * d[2]) ** 2)
    return dist.astype(np.float32), t.astype(np.float32)


def tube(x: np.ndarray, y: np.ndarray, z: np.ndarray, points: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed distance to a tube of linearly varying radius along a polyline (world frame).

    For each segment the radius is interpolated at the closest point; the minimum over the
    segments is taken. This is exact for constant radius and within the radius change per
    segment otherwise, which is why centrelines are sampled every 1-2 mm.
    """
    best = None
    for n in range(len(points) - 1):
        dist, t = segment_distance(x, y, z, points[n], points[n + 1])
        d = dist - (radii[n] + t * (radii[n + 1] - radii[n]))
        best = d if best is None else np.minimum(best, d)
    return best.astype(np.float32)


def polyline_bbox(points: np.ndarray, radii: np.ndarray, margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """World bounding box of a tube along `points`."""
    r = float(np.max(radii)) + margin
    return np.min(points, axis=0) - r, np.max(points, axis=0) + r


def resample_polyline(points: np.ndarray, step_mm: float) -> np.ndarray:
    """Points along a polyline at about `step_mm` spacing, the ends kept."""
    points = np.asarray(points, dtype=np.float64)
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(np.ceil(s[-1] / step_mm)), 1) + 1
    target = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(target, s, points[:, a]) for a in range(3)], axis=1)


def spline_through(control: np.ndarray, step_mm: float = 1.0) -> np.ndarray:
    """A smooth curve through control points (`geometry.spline.catmull_rom`), resampled every `step_mm`."""
    points, _ = catmull_rom(control)
    return resample_polyline(points, step_mm)


def superellipse2d(a: np.ndarray, b: np.ndarray, ra, rb, p: float) -> np.ndarray:
    """Signed distance along the ray from the centre to a superellipse |a/ra|^p + |b/rb|^p = 1
    (exact on the axes and on the surface, an overestimate of |d| of at most a few % between)."""
    f = (np.abs(a) / ra) ** p + (np.abs(b) / rb) ** p
    r = np.sqrt(a * a + b * b)
    return (r * (1.0 - np.maximum(f, 1e-12) ** (-1.0 / p))).astype(np.float32)

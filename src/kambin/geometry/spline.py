"""Uniform Catmull-Rom splines through control points (Catmull E, Rom R, Computer Aided Geometric
Design, 1974): the curve passes through every control point with a continuous tangent; the ends are
extended by reflecting the second point through the first (and the second-to-last through the last).
"""

from __future__ import annotations

import numpy as np

SAMPLES_PER_SEGMENT = 12


def catmull_rom(control: np.ndarray, radii: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Points along the spline through `control` (N, 3), SAMPLES_PER_SEGMENT per segment and the last
    control point, not yet evenly spaced (resample them by arc length); with `radii` (one per
    control point), the radius at each point, linear in the spline's parameter."""
    control = np.asarray(control, dtype=np.float64)
    padded = np.vstack([2 * control[0] - control[1], control, 2 * control[-1] - control[-2]])
    out, rad = [], []
    for n in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[n - 1], padded[n], padded[n + 1], padded[n + 2]
        for t in np.linspace(0.0, 1.0, SAMPLES_PER_SEGMENT, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
            )
            if radii is not None:
                rad.append(radii[n - 1] + t * (radii[n] - radii[n - 1]))
    out.append(control[-1])
    if radii is None:
        return np.array(out), None
    rad.append(radii[-1])
    return np.array(out), np.array(rad)

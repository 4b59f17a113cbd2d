"""Kambin's triangle on one side, in the plane of a vertebra's frame (u lateral, w superior).

One construction for the phantom's truth (`kambin.phantom.measure`) and for the estimate from a CT
(`kambin.anatomy.morphometry`): the medial side on u = `u_t` (the traversing root or the dural sac,
whichever is more lateral), the base on the lower vertebra's superior endplate (w = `w_ep`), the
hypotenuse the exiting root's inferomedial edge (Kambin P, Clin Orthop 1991;(266):27-39).

The exiting root is a tube: each segment of its centreline swept by a disc of its radius (a
capsule). Its edge is taken from that union, not by offsetting the centreline along a normal:
where the root turns back on itself (squeezed in a stenotic foramen) the normal flips from one side
to the other and the offset edge jumps by a diameter. On bench patient 8 (foraminal stenosis at
L5-S1 right, the exiting root curling back over u_t) the offset edge put the truth's apex 2 mm
higher than the tube's and the inscribed circle at 4.52 mm against 3.21; the estimate from its CT
followed the other branch (3.14 mm), 1.38 mm off; with the tube's edge both are about 3 mm. Over
the 10 bench patients (both sources) the circle is within 1 mm of the truth on 198 of 200 sides
either way: patient 8's side from the CT 1.38 -> 0.73 mm, patient 9's L3-L4 right from true bone
0.96 -> 1.07 (2 mm slices; its L4 body measures 1.2 mm short); mean error 0.25 -> 0.27 mm (true
bone), 0.27 -> 0.27 (CT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np


class TubeLike(Protocol):
    """A tube (the phantom's or the estimate's): centreline (N, 3) LPS mm and radii (N,) mm."""

    points_lps_mm: np.ndarray
    radii_mm: np.ndarray


def _lowest_on_line(centres: np.ndarray, radii: np.ndarray, axis: int, level: float) -> np.ndarray:
    """Per capsule of the tube (each centreline segment swept by a disc; its radius the mean of its
    ends'), the lowest coordinate (along the other axis) of its boundary on the line
    coordinate[`axis`] = `level`; NaN where the line misses it. The boundary is the two end discs and
    the two sides offset by the radius along the segment's normal; a convex capsule's lowest point on
    a line is the lowest of theirs."""
    other = 1 - axis
    seg_r = 0.5 * (radii[:-1] + radii[1:])
    lows = np.full(len(centres) - 1, np.nan)
    for end in (0, 1):
        c, r = centres[end : len(centres) - 1 + end], radii[end : len(centres) - 1 + end]
        gap = np.abs(c[:, axis] - level)
        low = c[:, other] - np.sqrt(np.maximum(r**2 - gap**2, 0.0))
        lows = np.fmin(lows, np.where(gap <= r, low, np.nan))  # fmin ignores NaN
    d = centres[1:] - centres[:-1]
    length = np.linalg.norm(d, axis=1)
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(length, 1e-12)[:, None]
    for side in (1.0, -1.0):
        q0 = centres[:-1] + side * seg_r[:, None] * normal
        q1 = centres[1:] + side * seg_r[:, None] * normal
        span = q1[:, axis] - q0[:, axis]
        hit = ((q0[:, axis] - level) * (q1[:, axis] - level) <= 0) & (span != 0) & (length > 0)
        t = np.where(hit, (level - q0[:, axis]) / np.where(span != 0, span, 1.0), 0.0)
        lows = np.fmin(lows, np.where(hit, q0[:, other] + t * (q1[:, other] - q0[:, other]), np.nan))
    return lows


def triangle_uw(
    exiting_uw: np.ndarray, exiting_radii_mm: np.ndarray, u_t: float, w_ep: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (u, w) of the triangle: v1 = (u_t, w_ep), the medial corner on the endplate; v2 on the
    endplate where the exiting root's tube first reaches it lateral to u_t (the medial end of a
    capsule's section at w_ep); v3 = (u_t, w3), w3 the lowest point of the tube over u = u_t.

    Args:
        exiting_uw: (N, 2) the exiting root's centreline, u positive laterally on this side.
        exiting_radii_mm: (N,) its radii (0 makes the tube its centreline).
    """
    centres = np.asarray(exiting_uw, dtype=float)
    radii = np.asarray(exiting_radii_mm, dtype=float)
    over = _lowest_on_line(centres, radii, 0, u_t)
    if np.isfinite(over).any():
        w3 = float(np.nanmin(over))
    else:  # the root does not pass over u_t: its nearest point's lower edge
        n = int(np.argmin(np.abs(centres[:, 0] - u_t)))
        w3 = float(centres[n, 1] - radii[n])
    medial_ends = _lowest_on_line(centres, radii, 1, w_ep)
    medial_ends = medial_ends[np.isfinite(medial_ends) & (medial_ends > u_t)]
    u2 = float(medial_ends.min()) if len(medial_ends) else float(centres[:, 0].max())
    return np.array([u_t, w_ep]), np.array([u2, w_ep]), np.array([u_t, w3])


def u_at_w(polyline_uw: np.ndarray, w: float) -> float:
    """u where the polyline first crosses height w (its nearest point's u when it does not)."""
    for n in range(len(polyline_uw) - 1):
        (u0, w0), (u1, w1) = polyline_uw[n], polyline_uw[n + 1]
        if (w0 - w) * (w1 - w) <= 0 and w0 != w1:
            t = (w - w0) / (w1 - w0)
            return float(u0 + t * (u1 - u0))
    return float(polyline_uw[np.argmin(np.abs(polyline_uw[:, 1] - w)), 0])


def medial_side_u(
    traversing_uw: np.ndarray,
    traversing_radii_mm: np.ndarray,
    sac_uw: np.ndarray,
    sac_radii_mm: np.ndarray,
    w_ep: float,
) -> float:
    """u_t: the lateral edge of the traversing root at the endplate, or of the dural sac if more lateral
    (the sac's u may be signed either way: its centre's distance from the midline is taken)."""
    u_t = u_at_w(traversing_uw, w_ep) + float(np.mean(traversing_radii_mm))
    k = int(np.argmin(np.abs(sac_uw[:, 1] - w_ep)))
    return max(u_t, abs(float(sac_uw[k, 0])) + float(sac_radii_mm[k]))


def kambin_triangle(
    local_points: Callable[[np.ndarray], np.ndarray],
    point: Callable[[float, float, float], np.ndarray],
    side_sign: float,
    w_ep: float,
    v_plane: float,
    exiting: TubeLike,
    traversing: TubeLike,
    sac: TubeLike,
) -> dict:
    """Kambin's triangle on one side, from the roots and the sac in the lower vertebra's frame.

    Args:
        local_points: LPS points (N, 3) -> the frame's (u, v, w).
        point: (u, v, w) -> LPS.
        side_sign: +1 on the left (u positive), -1 on the right.
        w_ep: the lower vertebra's superior endplate, frame w (mm).
        v_plane: the frame v where the vertices are placed (the posterior disc surface).

    Returns:
        vertices_lps_mm (medial corner, lateral corner, apex), base_mm, height_mm, hypotenuse_mm,
        area_mm2 and inscribed_diameter_mm (a right triangle's: base + height - hypotenuse).
    """

    def uw(tube: TubeLike) -> tuple[np.ndarray, np.ndarray]:
        p = local_points(tube.points_lps_mm)
        return np.column_stack([side_sign * p[:, 0], p[:, 2]]), np.asarray(tube.radii_mm, dtype=float)

    u_t = medial_side_u(*uw(traversing), *uw(sac), w_ep)
    v1, v2, v3 = triangle_uw(*uw(exiting), u_t, w_ep)
    base = float(abs(v2[0] - v1[0]))
    height = float(v3[1] - w_ep)
    hyp = float(np.hypot(base, height))
    return {
        "vertices_lps_mm": [point(side_sign * p[0], v_plane, p[1]) for p in (v1, v2, v3)],
        "base_mm": base,
        "height_mm": height,
        "hypotenuse_mm": hyp,
        "area_mm2": 0.5 * base * max(height, 0.0),
        "inscribed_diameter_mm": max(base + height - hyp, 0.0),
    }

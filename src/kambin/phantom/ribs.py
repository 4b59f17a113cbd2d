"""The lowest ribs of the thoracolumbar option: tubes from a head beside the vertebral body, in
front of and below the transverse process, out to the angle behind, then round the flank and down.

The 11th and 12th ribs are floating ribs: the head articulates with its own vertebra's body only,
there is no costotransverse joint, and the shaft ends free in the flank muscles (Standring, Gray's
Anatomy, 41st ed., ch. 53). A 13th (lumbar) rib is a short one on L1. The rib is some 10 by 5 mm in
section (a 4.5 mm tube here, 3.5 mm at its end), with a 1.2 mm cortex. Every rib keeps
`JOINT_GAP_MM` of soft tissue from its vertebra (the costovertebral joint space), so that a rib
is a piece of bone of its own, as on a CT.
"""

from __future__ import annotations

import numpy as np

from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES
from kambin.phantom.vertebra import VertebraGeometry

RADIUS_MM = 4.5
END_RADIUS_MM = 3.5
JOINT_GAP_MM = 2.5


def _course_local(vert: VertebraGeometry, s: int) -> np.ndarray:
    """Local (u, v, w) points of a rib's whole possible course on side s (+1 left, -1 right)."""
    tip = vert.dims.tp_span_mm / 2
    v0, w0 = vert.v_posterior_wall, vert.pedicle_w
    return np.array(
        [
            (s * (vert.a + RADIUS_MM), v0 - 4.0, w0),  # head, beside the back of the body
            (s * (tip + 6.0), v0 - 3.0, w0 - 7.0),  # neck, in front of and below the transverse process
            (s * (tip + 30.0), v0 + 12.0, w0 - 14.0),  # the angle, behind
            (s * (tip + 60.0), v0 + 5.0, w0 - 30.0),
            (s * (tip + 85.0), v0 - 25.0, w0 - 45.0),
            (s * (tip + 95.0), v0 - 60.0, w0 - 60.0),  # round the flank
        ]
    )


def _cut_to_length(points: np.ndarray, length_mm: float) -> np.ndarray:
    """The polyline from its first point up to arc length `length_mm` (resampled every 5 mm)."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.linspace(0.0, min(length_mm, arc[-1]), max(3, int(np.ceil(min(length_mm, arc[-1]) / 5.0)) + 1))
    return np.column_stack([np.interp(at, arc, points[:, c]) for c in range(3)])


def rib(vert: VertebraGeometry, side: str, length_mm: float, name: str) -> Tube:
    """The rib of `vert` on `side`, `length_mm` long, named `name` (its label), with its head moved
    out until it keeps JOINT_GAP_MM from the vertebra."""
    s = SIDES[side]
    local = _cut_to_length(_course_local(vert, s), length_mm)
    radii = np.linspace(RADIUS_MM, END_RADIUS_MM, len(local))
    for _ in range(40):
        tube = Tube(name, vert.frame.points(local), radii)
        ring = _surface_samples(tube)
        if float(vert.sdf(ring[:, 0], ring[:, 1], ring[:, 2], carve=False)[0].min()) >= JOINT_GAP_MM:
            return tube
        local[:, 0] += s * 0.5  # the whole rib half a millimetre farther out
    raise RuntimeError(f"{name} cannot be placed clear of {vert.label}")  # a programming error


def _surface_samples(tube: Tube, per_ring: int = 16) -> np.ndarray:
    """Points on the tube's surface: rings every 1 mm along its centreline."""
    points = []
    angles = np.linspace(0.0, 2 * np.pi, per_ring, endpoint=False)
    for p0, p1, r0, r1 in zip(tube.points_lps_mm[:-1], tube.points_lps_mm[1:], tube.radii_mm[:-1],
                              tube.radii_mm[1:], strict=True):
        axis = p1 - p0
        length = float(np.linalg.norm(axis))
        axis /= length
        e1 = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(axis, e1)
        for t in np.linspace(0.0, 1.0, max(2, int(length) + 1)):
            r = r0 + t * (r1 - r0)
            centre = p0 + t * length * axis
            points.append(centre + r * (np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2))
    return np.concatenate(points)

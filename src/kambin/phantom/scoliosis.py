"""A lumbar scoliosis for the phantom: a single C-curve in the coronal plane, with the vertebrae
rotated axially toward its convexity, bent onto the built (sagittal) spine.

Above the lumbosacral disc, each vertebra, disc and facet joint is tilted in the coronal plane by
theta(z) = atan(x'(z)) and shifted sideways by x(z) = A sin(pi t), t = (z - z0) / (z1 - z0) from
the top of S1 (z0) to the top of the highest vertebra (z1). The end vertebrae are tilted by
+-atan(A pi / L), so the Cobb angle (between the end vertebrae's endplates) is 2 atan(A pi / L).
The vertebrae also rotate about their long axis toward the convexity by psi(z) = psi_apex sin(pi
t), the apical rotation being about 40 % of the Cobb angle (Stokes IAF et al., J Orthop Res 5(1),
1987: apical axial rotation grows with the Cobb angle, to about half of it). The sacrum and pelvis
stay in place, so the lumbosacral disc takes the curve's take-off as a coronal wedge. Each part
turns about its own vertebra's (a disc or joint: its level's) body centre, so a vertebra's body,
arch and joints stay together.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kambin.errors import InvalidInputError
from kambin.phantom.frames import Frame
from kambin.phantom.spine import Spine

MAX_COBB_DEG = 40.0
APICAL_ROTATION_PER_COBB = 0.4


def _rotation(theta: float, psi: float) -> np.ndarray:
    """Coronal tilt theta (about the AP axis; positive tilts the superior axis w toward +x, the
    patient's left) after an axial rotation psi (about z; positive turns the body, in front, toward
    +x)."""
    ct, st = np.cos(theta), np.sin(theta)
    tilt = np.array([[ct, 0.0, st], [0.0, 1.0, 0.0], [-st, 0.0, ct]])
    cp, sp = np.cos(psi), np.sin(psi)
    turn = np.array([[cp, -sp, 0.0], [sp, cp, 0.0], [0.0, 0.0, 1.0]])
    return tilt @ turn


def bend(spine: Spine, cobb_deg: float, convex: str = "left") -> Spine:
    """`spine` with a lumbar C-curve of `cobb_deg` (0-40), convex to `convex` ("left" or "right");
    the objects are modified in place and the spine returned."""
    if not 0.0 <= cobb_deg <= MAX_COBB_DEG:
        raise InvalidInputError(f"scoliosis Cobb angle must be 0 to {MAX_COBB_DEG:g} degrees, not {cobb_deg!r}")
    if convex not in ("left", "right"):
        raise InvalidInputError(f"scoliosis convexity must be left or right, not {convex!r}")
    if cobb_deg == 0.0:
        return spine
    sign = 1.0 if convex == "left" else -1.0  # +x is the patient's left (LPS)
    s1 = spine.vertebrae["S1"]
    z0 = float(s1.frame.point(0, 0, s1.h / 2)[2])
    top = next(v for v in spine.vertebrae.values())  # cranial first
    z1 = float(top.frame.point(0, 0, top.h / 2)[2])
    length = z1 - z0
    amplitude = np.tan(np.radians(cobb_deg) / 2) * length / np.pi
    psi_apex = np.radians(APICAL_ROTATION_PER_COBB * cobb_deg)

    def transform(pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rotation, new pivot) for a part turning about `pivot`."""
        t = float(np.clip((pivot[2] - z0) / length, 0.0, 1.0))
        theta = float(np.arctan(sign * amplitude * np.pi / length * np.cos(np.pi * t)))
        psi = sign * psi_apex * np.sin(np.pi * t)
        return _rotation(theta, psi), pivot + np.array([sign * amplitude * np.sin(np.pi * t), 0.0, 0.0])

    def moved(frame: Frame, pivot: np.ndarray) -> Frame:
        rotation, new_pivot = transform(pivot)
        return Frame(new_pivot + rotation @ (frame.origin_lps_mm - pivot), rotation @ frame.axes_lps)

    centres = {name: v.frame.origin_lps_mm.copy() for name, v in spine.vertebrae.items()}
    for level, disc in spine.discs.items():
        if level == "L5-S1":
            continue  # its lower plane is S1's, which stays; its upper plane follows L5 (below)
        upper, lower = level.split("-")
        pivot = (centres[upper] + centres[lower]) / 2
        rotation, new_pivot = transform(pivot)
        disc.frame = moved(disc.frame, pivot)
        disc.lower_plane_point = new_pivot + rotation @ (disc.lower_plane_point - pivot)
        disc.lower_plane_normal = rotation @ disc.lower_plane_normal
        disc.upper_plane_point = new_pivot + rotation @ (disc.upper_plane_point - pivot)
        disc.upper_plane_normal = rotation @ disc.upper_plane_normal
    l5s1 = spine.discs.get("L5-S1")
    if l5s1 is not None:
        rotation, new_pivot = transform(centres["L5"])
        l5s1.upper_plane_point = new_pivot + rotation @ (l5s1.upper_plane_point - centres["L5"])
        l5s1.upper_plane_normal = rotation @ l5s1.upper_plane_normal
        middle = (l5s1.upper_plane_point + l5s1.lower_plane_point) / 2
        l5s1.frame = Frame(middle, l5s1.frame.axes_lps)
    for (level, side), joint in list(spine.joints.items()):
        upper, lower = level.split("-")
        if lower == "S1":
            pivot = centres["L5"]  # L5's inferior processes on the sacrum: they follow L5
        else:
            pivot = (centres[upper] + centres[lower]) / 2
        spine.joints[(level, side)] = replace(joint, frame=moved(joint.frame, pivot))
    for name, vert in spine.vertebrae.items():
        if name == "S1":
            continue
        if vert.arch_frame is not None:  # a slipped vertebra's loose arch (`phantom.listhesis`) turns with it
            vert.arch_frame = moved(vert.arch_frame, centres[name])
        vert.frame = moved(vert.frame, centres[name])
    for vert in spine.vertebrae.values():
        vert.sap_joints = {side: spine.joints[(j.level, side)] for side, j in vert.sap_joints.items()}
        vert.iap_joints = {side: spine.joints[(j.level, side)] for side, j in vert.iap_joints.items()}
    return spine

"""Marginal osteophytes of the vertebral bodies for the phantom, and bony bridges across discs.

Spondylosis grows spurs from the rims of the endplates, in front and at the sides of the bodies
(rarely behind), curving toward the disc; two facing spurs may fuse into a bridge across the disc
(Nathan H, J Bone Joint Surg Am 44(2), 1962: in most adults past 50; the lumbar spine's anterior and
lateral rims first). Each spur is a tapered horn of bone in the disc's sagittal section, from the
body's rim outward by its length (3 to 7 mm here, per vertebra and rim, varying around the rim) and
up into the disc space; where a level is bridged, the spurs of the two vertebrae meet at the disc's
mid-height, and each half is its own vertebra's bone.
"""

from __future__ import annotations

import numpy as np

from kambin.phantom import sdf
from kambin.phantom.shapes import FunctionShape
from kambin.phantom.spine import DiscGeometry, Spine
from kambin.phantom.vertebra import VertebraGeometry

BASE_RADIUS_MM = 2.2  # the horn's half-thickness at the rim
TIP_RADIUS_MM = 0.8
BRIDGE_TIP_RADIUS_MM = 1.6  # a bridge is a thick bar, not two touching points
TIP_GAP_MM = 3.0  # facing spurs that do not bridge keep their tips this far apart
LENGTH_MM = (3.0, 7.0)
MODES = ("none", "spurs", "bridging")
#: With `bridging`, the levels whose facing spurs fuse: two adjacent ones, so that the vertebra between
#: them is joined to both neighbours by bone.
BRIDGED_LEVELS = ("L2-L3", "L3-L4")


def osteophyte_shapes(spine: Spine, mode: str, rng: np.random.Generator) -> list[FunctionShape]:
    """Shapes (named by the vertebra each grows from, e.g. "vertebrae_L3") of the marginal spurs on
    both rims of every disc, bridged at BRIDGED_LEVELS when `mode` is "bridging"."""
    shapes = []
    for level, disc in spine.discs.items():
        upper, lower = spine.upper_lower(level)
        bridged = mode == "bridging" and level in BRIDGED_LEVELS
        for vert, rim in ((lower, "superior"), (upper, "inferior")):
            length = rng.uniform(*LENGTH_MM)
            phase = rng.uniform(0.0, 2.0 * np.pi)
            shapes.append(_spur(disc, vert, rim, length, phase, bridged))
    return shapes


def _spur(disc: DiscGeometry, vert: VertebraGeometry, rim: str, length: float, phase: float, bridged: bool):
    a, b = vert.a, vert.b
    posterior_wall = vert.v_posterior_wall

    def fn(x, y, z):
        u, v, _ = disc.local(x, y, z)
        out = sdf.superellipse2d(u, v, a, b, 2.6)  # outward from the body's outline
        rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) + 1e-6
        behind = (v / b) / rho  # -1 in front, 0 at the sides, +1 behind
        around = np.arctan2(v / b, u / a)
        reach = length * np.clip((0.5 - behind) / 0.5, 0.0, 1.0) * (1.0 + 0.25 * np.sin(3.0 * around + phase))
        p, n = disc.lower_plane_point, disc.lower_plane_normal
        above_lower = (x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2]
        p, n = disc.upper_plane_point, disc.upper_plane_normal
        below_upper = -((x - p[0]) * n[0] + (y - p[1]) * n[1] + (z - p[2]) * n[2])
        height = above_lower + below_upper  # the disc space's height here
        into_disc = above_lower if rim == "superior" else below_upper
        if bridged:
            rise, tip = height / 2 + BRIDGE_TIP_RADIUS_MM, BRIDGE_TIP_RADIUS_MM
        else:
            rise, tip = np.minimum(0.45 * reach, height / 2 - TIP_GAP_MM / 2 - TIP_RADIUS_MM), TIP_RADIUS_MM
        # Distance to the tapered horn from (out, into_disc) = (-1.5, -3) at the rim to (reach, rise).
        r0, z0 = -1.5, -3.0
        dr, dz = reach - r0, rise - z0
        t = np.clip(((out - r0) * dr + (into_disc - z0) * dz) / np.maximum(dr * dr + dz * dz, 1e-6), 0.0, 1.0)
        d = np.hypot(out - r0 - t * dr, into_disc - z0 - t * dz) - (BASE_RADIUS_MM + (tip - BASE_RADIUS_MM) * t)
        d = np.maximum(d, 20.0 * (0.3 - reach))  # no spur where it has no length (behind the body)
        d = np.maximum(d, v - posterior_wall)
        if bridged:  # each vertebra's half of the bridge: up to the disc's mid-height
            d = np.maximum(d, into_disc - height / 2)
        return d.astype(np.float32)

    centre = disc.frame.origin_lps_mm
    r = max(a, b) + LENGTH_MM[1] * 1.25 + disc.height_mm + 8.0
    return FunctionShape(vert.label, centre - r, centre + r, fn)

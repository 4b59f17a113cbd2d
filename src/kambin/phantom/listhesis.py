"""Isthmic spondylolisthesis for the phantom: a vertebra's body slipped forward over the one below,
its laminae and spinous process left behind at a defect of both partes interarticulares.

Isthmic slips (Wiltse type II: spondylolysis, then listhesis) are the commonest kind in adults
under 50, at L5-S1 in most and at L4-L5 in most of the rest (Wiltse LL, Newman PH, Macnab I, Clin
Orthop 117, 1976). The slip is given as the Meyerding grade's measure: the forward displacement of
the slipped body's posterior wall over the lower body's, as a percentage of the lower body's
superior endplate depth (grade 1 up to 25 %, grade 2 up to 50 %; Meyerding HW, Surg Gynecol
Obstet 54, 1932). Here the slipped vertebra's body, pedicles, transverse and superior articular
processes, and every vertebra, disc and facet joint above it, move by that much along the lower
body's superior endplate, toward the front; the slipped vertebra's laminae, spinous process and
inferior articular processes stay on the vertebra below (its facet joints are not moved), so the
pars defect opens by the slip. The disc between shears with it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from kambin.errors import InvalidInputError
from kambin.phantom.frames import Frame
from kambin.phantom.spine import Spine

#: Meyerding grade 2 at most (issue 21: spondylolisthesis up to grade 2).
MAX_SLIP_PERCENT = 50.0


def slip(spine: Spine, vertebra: str, percent: float) -> Spine:
    """`spine` with `vertebra` slipped forward over the one below by `percent` (0-50) of that one's
    superior endplate depth; the objects are modified in place and the spine returned."""
    names = list(spine.vertebrae)  # cranial first
    if vertebra not in names or vertebra == names[-1] or spine.vertebrae[vertebra].is_sacrum:
        movable = ", ".join(n for n in names[:-1] if not spine.vertebrae[n].is_sacrum)
        raise InvalidInputError(f"spondylolisthesis must name a vertebra above another ({movable}), not {vertebra!r}")
    if not 0.0 < percent <= MAX_SLIP_PERCENT:
        raise InvalidInputError(
            f"the slip must be above 0 and at most {MAX_SLIP_PERCENT:g} % (Meyerding grade 2), not {percent!r}"
        )
    lower = spine.vertebrae[names[names.index(vertebra) + 1]]
    level = f"{vertebra}-{names[names.index(vertebra) + 1]}"
    disc = spine.discs[level]
    normal = disc.lower_plane_normal / np.linalg.norm(disc.lower_plane_normal)
    posterior = lower.frame.axes_lps[:, 1]
    posterior = posterior - (posterior @ normal) * normal
    offset = -(percent / 100.0) * lower.dims.body_depth_mm * posterior / np.linalg.norm(posterior)

    def moved(frame: Frame) -> Frame:
        return Frame(frame.origin_lps_mm + offset, frame.axes_lps)

    above = names[: names.index(vertebra) + 1]
    slipped = spine.vertebrae[vertebra]
    slipped.arch_frame = slipped.frame
    for name in above:
        spine.vertebrae[name].frame = moved(spine.vertebrae[name].frame)
    for key, other in spine.discs.items():
        if key.split("-")[1] in above:
            other.frame = moved(other.frame)
            other.lower_plane_point = other.lower_plane_point + offset
            other.upper_plane_point = other.upper_plane_point + offset
    disc.frame = Frame(disc.frame.origin_lps_mm + offset / 2, disc.frame.axes_lps)
    disc.upper_plane_point = disc.upper_plane_point + offset
    disc.shear_lps_mm = disc.shear_lps_mm + offset
    for (key, side), joint in list(spine.joints.items()):
        if key.split("-")[1] in above:  # the joints above the slip; its own level's stay with the arch
            spine.joints[(key, side)] = replace(joint, frame=moved(joint.frame))
    for vert in spine.vertebrae.values():
        vert.sap_joints = {side: spine.joints[(j.level, side)] for side, j in vert.sap_joints.items()}
        vert.iap_joints = {side: spine.joints[(j.level, side)] for side, j in vert.iap_joints.items()}
    return spine

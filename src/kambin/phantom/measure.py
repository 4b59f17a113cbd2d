"""Measurements on the analytic anatomy: foraminal height, width and area (Hasegawa 1995),
Kambin's triangle (Mirkovic 1995; Hoshide 2016; Kumari 2021), and the process tips (superior
articular and spinous), each by the definition `kambin.anatomy` measures on a label map, so that
truth and measurement compare like with like."""

from __future__ import annotations

import numpy as np

from kambin.anatomy.landmarks_processes import SAP_TIP_CAP_MM, SPINOUS_TIP_CAP_MM
from kambin.geometry.foramen import foramen_in_plane
from kambin.geometry.kambin_triangle import kambin_triangle as shared_kambin_triangle
from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES, Spine
from kambin.phantom.vertebra import VertebraGeometry

TIP_GRID_MM = 0.25


def process_tips(vert: VertebraGeometry) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """(superior articular process tip per side, spinous process tip) of one vertebra (LPS mm).

    The tip of a process is its extreme point in the vertebra's frame: the most cranial point of the
    superior articular process, the most posterior point of the spinous process (Panjabi MM et al.,
    Spine 1992;17(3):299-306 and Spine 1993;18(10):1298-1310 digitise these extremes). Both processes
    end in a flat or broad face (the facet's upper margin; the lumbar spinous process's vertical
    posterior border), on which the single extreme point is ill-defined, so the tip is placed at the
    extreme level, at the centre of the bone within `SAP_TIP_CAP_MM` / `SPINOUS_TIP_CAP_MM` of it:
    the definition `kambin.anatomy.landmarks` measures on the label map. Found on the painted solid
    (the vertebra's signed distance < 0, sampled every `TIP_GRID_MM`), not on the primitives'
    parameters, which sit inside the rounded and blended surface.
    """
    f = vert.frame

    def solid(pts):
        return vert.sdf(pts[:, 0], pts[:, 1], pts[:, 2], carve=False)[0] < 0  # root channels: far from the tips

    sap = {}
    for side, joint in vert.sap_joints.items():
        seed = f.local_points(joint.sap_tip_lps_mm()[None])[0]
        sap[side] = _cap_tip(solid, f, seed + np.array([0.0, 0.0, -2.0]), (9.0, 9.0, 4.0), 2, SAP_TIP_CAP_MM)
    spinous = None
    if not vert.is_sacrum:
        tip_v, tip_w = vert.spinous_tip_local()
        spinous = _cap_tip(
            solid, vert.arch, np.array([0.0, tip_v - 3.0, tip_w]), (6.0, 5.0, 15.0), 1, SPINOUS_TIP_CAP_MM
        )
    return sap, spinous


def _cap_tip(solid, frame, centre: np.ndarray, half: tuple[float, float, float], axis: int, cap: float) -> np.ndarray:
    """The extreme of `solid` along local `axis` inside a local box, at the centroid of the solid
    within `cap` mm of that extreme (LPS); found on a 4x coarser grid first, then refined."""

    def inside(lo, hi, step):
        grids = [np.arange(a, b + step / 2, step) for a, b in zip(lo, hi, strict=True)]
        mesh = np.stack(np.meshgrid(*grids, indexing="ij"), axis=-1).reshape(-1, 3)
        return mesh[solid(frame.points(mesh))]

    coarse = 4 * TIP_GRID_MM
    loc = inside(centre - np.asarray(half), centre + np.asarray(half), coarse)
    near = loc[loc[:, axis] > loc[:, axis].max() - cap - coarse]
    loc = inside(near.min(axis=0) - coarse, near.max(axis=0) + coarse, TIP_GRID_MM)
    top = float(loc[:, axis].max()) + TIP_GRID_MM / 2
    tip = loc[loc[:, axis] > top - cap].mean(axis=0)
    tip[axis] = top
    return frame.point(*tip)


def foramen(spine: Spine, level: str, side: str, bone, soft) -> dict:
    """The foramen (`geometry.foramen`) in the parasagittal plane through the pedicles, sampled every
    0.25 mm from the exact anatomy: `bone` and `soft` are signed distances (negative inside)."""
    upper, lower = spine.upper_lower(level)
    disc = spine.discs[level]
    u = SIDES[side] * 0.5 * (upper.pedicle_u + lower.pedicle_u)
    res = 0.25
    vs = np.arange(disc.v_posterior_mm - 12.0, disc.v_posterior_mm + 22.0, res)
    ws = np.arange(-upper.h, upper.h, res)
    vv, ww = np.meshgrid(vs, ws, indexing="ij")
    pts = disc.frame.points(np.column_stack([np.full(vv.size, u), vv.ravel(), ww.ravel()]))
    found = foramen_in_plane((bone(pts) < 0).reshape(vv.shape), (soft(pts) < 0).reshape(vv.shape), vs, ws,
                             disc.v_posterior_mm, res)
    centre_vw = found.pop("centre_vw") or (disc.v_posterior_mm + 3, 0.0)
    return {**found, "centre_lps_mm": disc.frame.point(u, *centre_vw)}


def kambin_triangle(spine: Spine, level: str, side: str, exiting: Tube, traversing: Tube, sac: Tube) -> dict:
    """Kambin's triangle projected on the posterior disc surface of the lower vertebra's frame:
    base on the superior endplate of the lower vertebra, medial side along the traversing root
    or dural sac (whichever is more lateral), hypotenuse the exiting root's inferomedial edge."""
    _, lower = spine.upper_lower(level)
    return shared_kambin_triangle(
        lower.frame.local_points,
        lower.frame.point,
        SIDES[side],
        lower.h / 2,
        lower.v_posterior_wall + 1.0,
        exiting,
        traversing,
        sac,
    )

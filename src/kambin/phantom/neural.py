"""Neural structures a CT cannot show: dural sac, spinal cord (conus), cauda equina, and the
exiting and traversing nerve roots of every level with their dorsal root ganglia.

Root courses follow the standard description (Cohen MS et al., "Cauda equina anatomy II:
extrathecal nerve roots and dorsal root ganglia", Spine 1990;15(12):1248-1251; Hasegawa 1995):
root Ln leaves the dural sac at about the disc above Ln, runs down the lateral recess medial
to the Ln pedicle (here it is the *traversing* root of level L(n-1)-Ln), turns under that
pedicle into the upper part of the Ln-L(n+1) foramen, where its ganglion lies (there it is the
*exiting* root), and leaves antero-latero-inferiorly into the psoas. The S1 root leaves
through the first anterior sacral foramen.
"""

from __future__ import annotations

import numpy as np

from kambin.geometry.primitives import displace_around, push_out
from kambin.phantom import sdf
from kambin.phantom.morphometry import MOTION_LEVELS, Morphometry
from kambin.phantom.pathology import Lesion
from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES, Spine

ROOT_VERTEBRAE = ("L1", "L2", "L3", "L4", "L5", "S1")


def sac_centre_local(spine: Spine, name: str) -> tuple[float, float]:
    """(v, radius) of the dural sac in a vertebra's frame: centred in the canal, fitting it."""
    vert = spine.vertebrae[name]
    d = vert.dims
    return vert.v_posterior_wall + d.canal_depth_mm / 2 - 0.3, d.canal_depth_mm / 2 - 1.1


def build_dural_sac(spine: Spine, morph: Morphometry) -> Tube:
    """The dural sac: a round tube down the canal, ending at S2 (radius per point)."""
    control, radii = [], []
    names = ("L1", "L2", "L3", "L4", "L5", "S1")
    top = spine.vertebrae["L1"]
    v_c, r_fit = sac_centre_local(spine, "L1")
    control.append(top.frame.point(0.0, v_c, top.h / 2 + 40.0))
    radii.append(min(morph.dural_sac_radius_mm, r_fit, top.dims.canal_width_mm / 2 - 2.0))
    for name in names:
        vert = spine.vertebrae[name]
        v_c, r_fit = sac_centre_local(spine, name)
        r = min(
            morph.dural_sac_radius_mm * (0.93 if name in ("L5", "S1") else 1.0),
            r_fit,
            vert.dims.canal_width_mm / 2 - 2.0,
        )
        if name == "S1":
            control.append(vert.frame.point(0.0, v_c, vert.h / 2))
            radii.append(r * 0.85)
            control.append(vert.frame.point(0.0, v_c + 0.5, -vert.h / 2 - 6.0))
            radii.append(r * 0.45)
            control.append(vert.frame.point(0.0, v_c + 1.0, -vert.h / 2 - 14.0))
            radii.append(1.2)
        else:
            control.append(vert.frame.point(0.0, v_c, vert.h / 2))
            radii.append(r)
            control.append(vert.frame.point(0.0, v_c, -vert.h / 2))
            radii.append(r)
    control = np.array(control)
    points = sdf.spline_through(control, step_mm=2.0)
    # radius by nearest control along arc length
    radii_pts = _interp_radii(control, np.array(radii), points)
    return Tube("dural_sac", points, radii_pts)


def _interp_radii(control: np.ndarray, radii: np.ndarray, points: np.ndarray) -> np.ndarray:
    s_ctrl = _arc_positions(control, points)
    s_pts = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    return np.interp(s_pts, s_ctrl, radii)


def _arc_positions(control: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Arc-length position along `points` of the point nearest each control point."""
    s_pts = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    idx = [int(np.argmin(np.linalg.norm(points - c, axis=1))) for c in control]
    return np.maximum.accumulate(s_pts[idx])


def root_control_points(
    spine: Spine, sac: Tube, name: str, side: str, morph: Morphometry
) -> tuple[np.ndarray, np.ndarray]:
    """Control points (LPS) and radii of root `name` on `side`, from the sac to the psoas."""
    s = SIDES[side]
    vert = spine.vertebrae[name]
    d = vert.dims
    r, g = morph.root_radius_mm, morph.drg_radius_mm
    level_above = {"L1": None, "L2": "L1-L2", "L3": "L2-L3", "L4": "L3-L4", "L5": "L4-L5", "S1": "L5-S1"}[name]
    disc_above = spine.discs[level_above].height_mm if level_above else 9.0
    v_c, r_fit = sac_centre_local(spine, name)
    r_sac = float(np.interp(0, [0], [min(morph.dural_sac_radius_mm, r_fit)]))
    pw, vp = d.canal_width_mm / 2, vert.v_posterior_wall
    ped_bottom = vert.pedicle_w - d.pedicle_height_mm / 2
    local = [
        (s * (r_sac - 1.5), v_c + 0.5, vert.h / 2 + 0.75 * disc_above),
        (s * (pw - r - 0.8), vp + r + 1.2, vert.h / 2 - 4.0),
        (s * (pw + 0.3), vp + r + 1.6, ped_bottom - r - 0.9),
    ]
    radii = [r, r, r]
    if name == "S1":
        local += [
            (s * (pw + 4.0), vp - 6.0, ped_bottom - 6.0),
            (s * (pw + 8.0), -vert.b + 3.0, -vert.h / 2 - 10.0),
            (s * (pw + 14.0), -vert.b - 10.0, -vert.h / 2 - 22.0),
        ]
        radii += [r, r, r]
    else:
        local += [
            (s * (vert.pedicle_u + 1.0), vp + 4.6, ped_bottom - g - 1.0),
            (s * (vert.pedicle_u + d.pedicle_width_mm / 2 + 4.0), vp - 0.5, ped_bottom - g - 11.0),
            (s * (vert.pedicle_u + d.pedicle_width_mm / 2 + 16.0), vp - 8.0, ped_bottom - 30.0),
        ]
        radii += [g, r * 1.05, r * 1.1]
    return vert.frame.points(np.array(local)), np.array(radii)


def build_root(spine: Spine, sac: Tube, name: str, side: str, morph: Morphometry) -> Tube:
    control, radii = root_control_points(spine, sac, name, side, morph)
    points = sdf.spline_through(control, step_mm=1.5)
    return Tube(f"nerve_root_{name}_{side}", points, _interp_radii(control, radii, points))


def build_cauda_equina(spine: Spine, sac: Tube, roots: dict) -> list[Tube]:
    """Intrathecal root bundles: one strand per root from the conus down to its take-off, lower
    roots dorsal and medial (the layered arrangement described by Wall EJ et al., 1990), plus the
    sacral roots to the sac end. Each strand follows the sac's centreline at an offset that moves
    from its place under the conus to its take-off, so it stays inside the sac along the lordosis
    (a straight chord between L1 and L5 would cut through the laminae)."""
    centre = sac.points_lps_mm
    strands = []
    for (name, side), root in roots.items():
        if name == "L1":
            continue
        s = SIDES[side]
        k = ("L2", "L3", "L4", "L5", "S1").index(name)
        end = root.points_lps_mm[0]
        n = int(np.argmin(np.linalg.norm(centre - end, axis=1)))
        start = np.array([s * (4.0 - 0.5 * k), 1.0 + 0.8 * k, 0.0])
        pts = _along(centre[: n + 1], start, end - centre[n], np.array([-s * 1.0, 1.5, 0.0]))
        strands.append(Tube("cauda_equina", pts, np.full(len(pts), 1.0)))
    # sacral roots S2-S4, dorsal, to the end of the sac
    n = len(centre) - 4
    for s in (1, -1):
        pts = _along(
            centre[: n + 1], np.array([s * 1.5, 3.0, 0.0]), np.array([s * 0.6, 0.0, 0.0]), np.array([s * 0.5, 0.5, 0.0])
        )
        strands.append(Tube("cauda_equina", pts, np.full(len(pts), 1.1)))
    return strands


def _along(centre: np.ndarray, offset_start: np.ndarray, offset_end: np.ndarray, bulge: np.ndarray) -> np.ndarray:
    """A strand along the centreline `centre`, its LPS offset blended from start to end along the
    arc length, plus `bulge` at mid-course; resampled every 3 mm."""
    seg = np.linalg.norm(np.diff(centre, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)]) / max(float(seg.sum()), 1e-9)
    offsets = np.outer(1.0 - t, offset_start) + np.outer(t, offset_end) + np.outer(4.0 * t * (1.0 - t), bulge)
    return sdf.resample_polyline(centre + offsets, 3.0)


def build_spinal_cord(spine: Spine, sac: Tube) -> Tube:
    """The conus medullaris, tapering to its tip at the L1 body (its usual level in adults, L1 to
    L1-L2; Saifuddin A et al., Spine 1998)."""
    l1 = spine.vertebrae["L1"]
    v_c, _ = sac_centre_local(spine, "L1")
    control = np.array(
        [
            sac.points_lps_mm[0],
            l1.frame.point(0.0, v_c, l1.h / 2 + 10.0),
            l1.frame.point(0.0, v_c + 0.5, 0.0),
            l1.frame.point(0.0, v_c + 0.8, -l1.h / 2 + 3.0),
        ]
    )
    pts = sdf.spline_through(control, step_mm=2.0)
    radii = np.interp(np.linspace(0, 1, len(pts)), [0, 0.5, 0.85, 1.0], [4.3, 4.0, 2.5, 0.8])
    return Tube("spinal_cord", pts, radii)


# --- roots and sac moved by lesions -------------------------------------------------------------

#: How far a root is kept from the bone, disc and lesions it is pushed out of (mm).
ROOT_CLEARANCE_MM = 0.4


def obstacle_sdf(spine: Spine, names: list[str], levels: list[str], lesions: list[Lesion]):
    """The signed distance (points (N, 3) -> mm) to the named vertebrae, the discs of `levels` and
    the lesions: what a root is pushed out of."""
    verts = [spine.vertebrae[n] for n in names if n in spine.vertebrae]
    discs = [spine.discs[lv] for lv in levels if lv in spine.discs]

    def fn(p):
        d = np.full(len(p), np.inf)
        for v in verts:
            d = np.minimum(d, v.sdf(p[:, 0], p[:, 1], p[:, 2])[0])
        for disc in discs:
            d = np.minimum(d, disc.sdf(p[:, 0], p[:, 1], p[:, 2]))
        for lesion in lesions:
            d = np.minimum(d, lesion.sdf_points(p))
        return d

    return fn


def pushed_root(spine, sac, name, side, morph, lesions) -> Tube:
    root = build_root(spine, sac, name, side, morph)
    order = ["L1", "L2", "L3", "L4", "L5", "S1"]
    i = order.index(name)
    neighbours = order[max(i - 1, 0) : i + 2]
    levels = [lv for lv in MOTION_LEVELS if name in lv.split("-")]
    if name == "S1":
        neighbours = ["L5"]
    pts = root.points_lps_mm
    for fragment in (lesion for lesion in lesions if lesion.label == "disc_herniation"):
        # a fragment displaces the root as a piece (`displace_around`), take-off included
        disc_centre = spine.discs[fragment.info["level"]].frame.origin_lps_mm
        pts = displace_around(pts, root.radii_mm, fragment.sdf_points, ROOT_CLEARANCE_MM, disc_centre)
    obstacle = obstacle_sdf(spine, neighbours, levels, lesions)
    movable = np.ones(len(pts), bool)
    if not lesions:
        movable[:1] = False  # the take-off stays on the sac unless a lesion pushes it
    pts = push_out(pts, root.radii_mm, obstacle, ROOT_CLEARANCE_MM, movable)
    return Tube(root.name, pts, root.radii_mm)


def compressed_sac(sac: Tube, lesions: list[Lesion]) -> Tube:
    """A herniation indents the sac: the tube narrows (to at most 40 % less) and shifts away."""
    hern = [les for les in lesions if les.label == "disc_herniation"]
    if not hern:
        return sac
    obstacle = hern[0].sdf_points
    radii = sac.radii_mm.copy()
    d = obstacle(sac.points_lps_mm) - radii - 0.3
    shrink = np.clip(-d, 0, 0.4 * radii)
    radii = radii - shrink
    pts = push_out(sac.points_lps_mm, radii, obstacle, 0.3)
    return Tube(sac.name, pts, radii)

"""One pedicle of a vertebra measured on its label, for `kambin.anatomy.landmarks`: its medial wall and
axis, the isthmus centre, width and height, in the vertebra's local frame (u left, v posterior, w
superior; mm).

Method: the pedicle is the bone bridge between the body and the arch, 1-7 mm behind the posterior wall,
cut in 1 mm slabs along v (`_pedicle_slabs`). The medial wall gives the axis direction (the transverse
angle, Zindrick et al., Spine 1987;12(2):160-166; Theil-Sen slope behind the body's fillet, both sides'
mean where it sets the width's run across: `_pedicle_wall`); the narrowest section of the first 2 mm (in
front of the transverse process) its width, else the level's mean width scaled by the body's size
(`_pedicle_width`); its height the vertical extent a quarter of the width in from the medial wall over
sqrt(3)/2 (an oval section), bounded by the level's mean height (Zindrick 1987; Panjabi et al., Spine
1992;17(3):299-306: `_pedicle_extent`). The isthmus centre is taken 4 mm behind the posterior wall. Every
surface lies half a voxel beyond the last voxel centre, measured along the local axis.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from kambin.anatomy.landmarks_body import _unit

#: Mean S1 pedicle height (mm), Zindrick et al. 1987; used where the ala hides its caudal margin.
S1_PEDICLE_HEIGHT_MM = 14.0
#: Mean pedicle height per level (mm), Zindrick et al. 1987, and the most a measured height may exceed
#: it: x1.6, beyond the population's 2 SD (about 2.5 mm) and the up to 3 mm by which the fillets to the
#: body and the lamina widen the measured extent (ten phantoms from their true bone: at most 18.5 mm
#: measured for a 14 mm L5 pedicle). Beyond it the section has merged with other bone (an L5 transverse
#: process, the ala, a neighbour's bone in a segmentation's label) and the pedicle is placed as the
#: population has it: its top 1 mm under the superior endplate (Panjabi 1992, as kambin.phantom), the
#: level's mean height below.
PEDICLE_HEIGHT_MEAN_MM = {"T11": 17.4, "T12": 15.9, "L1": 15.4, "L2": 15.0, "L3": 14.9, "L4": 14.8, "L5": 14.0}
PEDICLE_HEIGHT_MAX_RATIO = 1.6
#: The pedicle leaves the upper part of the body's posterior wall: its top about 1 mm under the
#: superior endplate, its height 14-17 mm of a 24-29 mm body (Zindrick 1987; Panjabi 1992), so its caudal
#: margin lies less than a quarter of the body's height below mid-height (2 SD tall at L1: 0.26). The
#: medial wall is sought above that: a posterior wall placed ~1 mm too far forward (a segmentation's label
#: with the cortex partly missing) put the body's lower posterior lip in the pedicle's slabs, and the wall
#: 4 mm medial. From segment_spine's labels on the 10 bench patients: pedicle centres max 4.34 -> 2.41 mm,
#: mean 0.67 -> 0.63; unchanged on calibration seeds 40-47 (1.71, 0.52) and from true bone.
PEDICLE_LOWEST_BELOW_MID = 0.25
PEDICLE_TOP_UNDER_ENDPLATE_MM = 1.0


class PedicleSearch(NamedTuple):
    """What the pedicle measurement needs of its vertebra: the posterior wall's local v and the body's
    height (mm), whether it is S1, the largest voxel spacing (`step`), half a voxel along u, v, w, the
    slabs' thickness in v (`_pedicle_slab_step`), the level's name, the pedicle width estimated from the
    population (`kambin.anatomy.landmarks.pedicle_width_estimate_mm`) and the body's size scale."""

    posterior_wall_v: float
    body_height: float
    is_sacral: bool
    step: float
    half_vox: np.ndarray
    slab_step: float
    name: str
    width_estimate: float
    size_scale: float


class PedicleWall(NamedTuple):
    """One side's pedicle section (`_pedicle_wall`): its points (local u, v, w); per 1 mm slab in v the
    slab's v, the medial wall |u|, the width's run across and the vertical extent near the medial wall;
    and the medial wall's slope d|u|/dv (the tan of the transverse angle)."""

    pts: np.ndarray
    vv: np.ndarray
    med: np.ndarray
    widths: np.ndarray
    ws_lo: list[float]
    ws_hi: list[float]
    slope: float


class Pedicle(NamedTuple):
    """One pedicle measured (local frame, mm): the isthmus centre (u, v, w), the axis (a unit vector),
    width, height, caudal margin (w) and |u| of the isthmus centre."""

    centre_uvw: tuple[float, float, float]
    axis_uvw: np.ndarray
    width_mm: float
    height_mm: float
    bottom_w_mm: float
    u_mm: float


def _pedicle_slab_step(name: str, spacing: np.ndarray, direction: np.ndarray, axes: np.ndarray) -> float:
    """The thickness in v of the pedicle's slabs (mm), for the frame `axes` (columns u, v, w)."""
    # The pedicle's slabs in v are one voxel thick along v: the spacing of the voxel axis nearest to v
    # (in-plane), not the largest (the slice spacing), which on 2 mm slices (0.9 mm in-plane) made them
    # 2 mm thick, two rows of voxels, so that the slab 1 mm behind the posterior wall reached back to
    # where the transverse process's fillet widens the section (L4: a 15.3 mm run across for the truth's
    # 12.1) or forward to the body's wall. Bench patient 9 from the CT: L4's pedicle centres 2.23 / 1.72
    # -> 0.78 / 0.76 mm (L1-L5 max 2.23 -> 1.05), from true bone L1-L4 max 0.87 -> 0.68; patients 2 and 7
    # (1.5 and 1.25 mm slices): L1-L4 and S1 move by 0.4 mm at most; every bench_anatomy figure of the 10
    # patients within 0.05 mm or better (Kambin's circle L1-L5 from the CT, patient 2 0.51 -> 0.34,
    # patient 7 0.70 -> 0.50); isotropic scans unchanged. L5 keeps the slice spacing for now: the
    # thinner slab moves its pedicles by up to 1.4 mm, nearer the truth (from true bone, patient 2 1.16
    # -> 0.46 mm, patient 9 1.06 -> 0.87), but on patient 9 they move 1.2-1.4 mm laterally and the L5-S1
    # foramen's plane, halfway between L5's and S1's pedicle offsets, then carries S1's lateral bias
    # (+1.0 / +1.5 mm from true bone: its medial wall is the sacral canal's) uncompensated: foraminal
    # height at L5-S1 1.0 -> 2.5 mm (true bone) and 1.25 -> 4.75 mm (CT). This is one error set against
    # another, to go once S1's medial wall is found: over the 10 bench patients the thin slab for L5 too
    # gives pedicle centres max 1.29 -> 1.08 mm (CT) and Kambin's circle L1-L5 max 1.30 -> 1.09 (CT), but
    # at L5-S1 from true bone two more sides over 1 mm (patients 2 and 7: 1.11, 1.16; mean 0.43 -> 0.53)
    # and the exiting L5 root max 2.38 -> 3.10 mm.
    return float(spacing.max()) if name == "L5" else float(spacing[np.argmax(np.abs(direction.T @ axes[:, 1]))])


def _pedicle_slabs(
    pts: np.ndarray, s: float, search: PedicleSearch
) -> tuple[list[float], list[float], list[float], list[float], list[float]]:
    """(vv, med, widths, ws_lo, ws_hi) of the pedicle's points `pts` on side `s` (+1 left, -1 right), per
    1 mm slab in v holding the section: the slab's v, the medial wall |u|, the width's run across and the
    vertical extent within 4 mm of the medial wall."""
    vp, height, step, half_vox = search.posterior_wall_v, search.body_height, search.step, search.half_vox
    # per 1 mm slab in v: the medial wall |u| and the vertical extent near it
    vs = np.arange(vp + 1.0, vp + 7.0, 1.0)
    med, ws_lo, ws_hi, widths, vv = [], [], [], [], []
    for v in vs:
        row = pts[np.abs(pts[:, 1] - v) <= 0.5 * max(search.slab_step, 1.0)]
        if len(row) < 4:
            continue
        au = s * row[:, 0]
        upper = row[:, 2] > -PEDICLE_LOWEST_BELOW_MID * height
        if not upper.any():
            continue
        m = float(au[upper].min()) - half_vox[0]
        near = row[au < m + 4.0]
        med.append(m)
        ws_lo.append(float(near[:, 2].min()) - half_vox[2])
        ws_hi.append(float(near[:, 2].max()) + half_vox[2])
        # width: contiguous |u| run from the medial wall at the pedicle's mid-height; S1's (its
        # caudal margin merges with the ala) 2.5 mm under its top, which lies no higher than 1 mm
        # under the superior endplate (Panjabi 1992, as kambin.phantom): a segmentation's S1 label
        # holding soft tissue over the pedicle (bench patient 8, paraspinal muscle and fat up to 2 mm
        # over the top) put the row at the narrow top, whose width (3-13 mm) fell under 0.6 of the
        # estimate, and S1's pedicle offsets 2.63 / 1.26 mm lateral (the estimate's 17.8 mm width
        # taken); now 0.76 lateral / 0.11 medial, foraminal height at L5-S1 from the CT 12.25 -> 0.50
        # mm. From true bone S1's offsets moved on patient 5 alone (+0.14 / -0.59 -> +0.63 / +0.41 mm);
        # every other bench figure of the 10 patients unchanged (both sources).
        top = min(ws_hi[-1], height / 2 - PEDICLE_TOP_UNDER_ENDPLATE_MM)
        wm = top - 2.5 if search.is_sacral else 0.5 * (ws_lo[-1] + ws_hi[-1])
        band = np.sort(au[np.abs(row[:, 2] - wm) <= max(step, 1.0)])
        if len(band):
            gap = np.flatnonzero(np.diff(band) > 2.5 * step)
            end = band[gap[0]] if len(gap) else band[-1]
            widths.append(float(end - band[0]) + 2 * half_vox[0])
        else:
            widths.append(np.nan)
        vv.append(v)
    return vv, med, widths, ws_lo, ws_hi


def _pedicle_wall(loc: np.ndarray, s: float, search: PedicleSearch) -> PedicleWall | None:
    """The pedicle's section on side `s` (+1 left, -1 right) among the vertebra's points `loc` (local u,
    v, w), None where fewer than 3 slabs hold it."""
    vp, height = search.posterior_wall_v, search.body_height
    sel = (s * loc[:, 0] > 3.0) & (loc[:, 1] > vp + 0.5) & (loc[:, 1] < vp + 7.5)
    sel &= (loc[:, 2] < height / 2 + 1.0) & (loc[:, 2] > -height / 2)
    if search.is_sacral:  # the S1 pedicle is in the upper half; below, the sacrum's canal wall
        sel &= loc[:, 2] > -2.0
    pts = loc[sel]
    if len(pts) < 20:
        return None
    vv, med, widths, ws_lo, ws_hi = _pedicle_slabs(pts, s, search)
    if len(vv) < 3:
        return None
    vv, med, widths = np.array(vv), np.array(med), np.array(widths)
    # d|u|/dv, the tan of the transverse angle: the median of the pairwise slopes (Theil-Sen) of
    # the medial wall behind the first mm, where the body's fillet pulls the wall medially
    back = vv >= vp + 1.5
    idx = np.flatnonzero(back)
    pairs = [(med[j] - med[i]) / (vv[j] - vv[i]) for i in idx for j in idx if j > i]
    slope = float(np.median(pairs)) if pairs else float(np.polyfit(vv, med, 1)[0])
    return PedicleWall(pts, vv, med, widths, ws_lo, ws_hi, float(np.clip(slope, 0.0, 0.9)))


def _pedicle_width(
    wall: PedicleWall, search: PedicleSearch, slope_both: float, cos_a: float, v_iso: float
) -> tuple[float, float]:
    """(u_c, width): |u| of the isthmus centre at `v_iso` and the width normal to the axis (`cos_a` the
    cosine of the transverse angle, `slope_both` the two sides' mean slope)."""
    vp, vv, med, widths = search.posterior_wall_v, wall.vv, wall.med, wall.widths
    med_iso = float(np.median(med - wall.slope * (vv - v_iso)))
    # Width: the narrowest section in front of the transverse process (the first 2 mm behind the
    # posterior wall), where both walls are seen, its run in u taken straight; where the process
    # joins the pedicle all along (L5's is broad), the level's mean (Zindrick 1987) scaled by this
    # body's width (Panjabi 1992), its run in u from the two sides' mean transverse angle.
    width_perp = search.width_estimate
    run_u = width_perp * np.sqrt(1.0 + slope_both**2)
    front = widths[(vv < vp + 2.5) & np.isfinite(widths)]
    if len(front) and 0.6 * width_perp < front.min() * cos_a < 1.4 * width_perp:
        run_u = float(front.min())
        width_perp = run_u * cos_a
    u_c = med_iso + 0.5 * run_u
    return u_c, width_perp


def _pedicle_extent(
    wall: PedicleWall, s: float, search: PedicleSearch, width_perp: float, cos_a: float
) -> tuple[float, float]:
    """(w_lo, w_hi): the pedicle's caudal and cranial margins in local w, on side `s`."""
    vp, pts, vv, med, half_vox = search.posterior_wall_v, wall.pts, wall.vv, wall.med, search.half_vox
    slab_step = search.slab_step
    w_lo, w_hi = float(np.median(wall.ws_lo)), float(np.median(wall.ws_hi))
    # vertical extent a quarter of the width in from the medial wall (clear of the transverse
    # process laterally and of the medial wall's thin edge), 2-7 mm behind the posterior wall, in a
    # column about one voxel wide: an oval section (Zindrick 1987) is sqrt(3)/2 of its full height
    # there. A column 3 mm wide reached the section's full height on its lateral side, which the
    # sqrt(3)/2 then inflated: pedicle caudal margin 0.93 mm low on average (max 2.11; 10 bench
    # patients, true bone), now 0.22 (max 1.29); fitted on calibration seeds 40-47 (0.87 -> 0.16).
    column_half_mm = max(float(half_vox[0]), 0.5)
    lo_list, hi_list = [], []
    for v in np.arange(vp + 2.0, vp + 7.0, 1.0):
        u_b = float(np.polyval(np.polyfit(vv, med, 1), v)) + 0.25 * width_perp / cos_a
        col = pts[
            (np.abs(pts[:, 1] - v) <= 0.5 * max(slab_step, 1.0)) & (np.abs(s * pts[:, 0] - u_b) <= column_half_mm)
        ]
        if len(col) >= 3:
            lo_list.append(float(col[:, 2].min()) - half_vox[2])
            hi_list.append(float(col[:, 2].max()) + half_vox[2])
    if len(lo_list) >= 2:
        mid_w, half = (
            0.5 * (np.median(lo_list) + np.median(hi_list)),
            0.5 * (np.median(hi_list) - np.median(lo_list)),
        )
        w_lo, w_hi = float(mid_w - half / 0.866), float(mid_w + half / 0.866)
    mean_h = PEDICLE_HEIGHT_MEAN_MM.get(search.name, 15.0) * search.size_scale
    if not search.is_sacral and w_hi - w_lo > PEDICLE_HEIGHT_MAX_RATIO * mean_h:
        w_hi = search.body_height / 2 - PEDICLE_TOP_UNDER_ENDPLATE_MM
        w_lo = w_hi - mean_h
    if search.is_sacral:
        # S1: the pedicle merges with the ala and the sacrum below it; its caudal margin is not
        # seen, so its height is taken as the mean S1 pedicle height (14 mm, Zindrick 1987).
        w_lo = w_hi - S1_PEDICLE_HEIGHT_MM
    return w_lo, w_hi


def _pedicle_isthmus(wall: PedicleWall, s: float, search: PedicleSearch, slope_both: float) -> Pedicle:
    """The pedicle of `wall` on side `s` (+1 left, -1 right): its isthmus 4 mm behind the posterior
    wall, its axis along the medial wall (`wall.slope`), its width and height (see the module
    docstring); `slope_both` is both sides' mean slope."""
    cos_a = 1.0 / np.sqrt(1.0 + wall.slope**2)
    v_iso = search.posterior_wall_v + 4.0
    u_c, width_perp = _pedicle_width(wall, search, slope_both, cos_a, v_iso)
    w_lo, w_hi = _pedicle_extent(wall, s, search, width_perp, cos_a)
    w_c = 0.5 * (w_lo + w_hi)
    axis_local = _unit(np.array([s * wall.slope, 1.0, 0.0]))
    return Pedicle((s * u_c, v_iso, w_c), axis_local, width_perp, w_hi - w_lo, w_lo, u_c)

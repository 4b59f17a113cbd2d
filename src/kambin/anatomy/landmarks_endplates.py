"""The endplates of one vertebral body and the body's axis from them, for `kambin.anatomy.landmarks`.

Method: the cranial (caudal) surface points of the label within 95 % of the body's radius are fitted
(least squares, trimmed) by a plane plus a paraboloid concavity (the central endplate is 1-2 mm concave;
Wang Y et al., Eur Spine J 2012;21:1737); the plane term is the rim plane of the ring apophysis, and the
endplate centre is where the body axis meets it (`_rim_plane`). The body's axis w is the bisector of the
two endplate normals (S1: its superior endplate's normal), the origin midway between the endplate centres
(`_endplate_frame`). Where both rim planes are slice planes (thick slices: each endplate within one
slice), the body's sagittal lean is taken from its anterior and posterior walls instead
(`_wall_tilt_frame`, with `kambin.anatomy.landmarks_midline._sagittal_wall_tilt`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from kambin.anatomy.landmarks_body import _half_voxel, _unit
from kambin.anatomy.landmarks_midline import _sagittal_wall_tilt
from kambin.errors import InvalidInputError

#: Most passes of the endplate fit's trim (`_rim_plane`); it stops once the points kept no
#: longer change (bench patients from segment_spine's labels: endplate centres max 1.29 mm after 3
#: passes, 1.03 after 5 or 8, with the trim's old sd floor).
ENDPLATE_FIT_PASSES = 10
#: Ring of the endplate used for the rim plane, as fractions of the body's half-width/half-depth.
RIM_RING = (0.7, 0.95)


class EndplateFrame(NamedTuple):
    """The body's frame refined on its endplates (LPS): `axes` (columns u, v, w), the body `centre`
    (midway between the endplate centres), each endplate's centre and normal, and `w`, the body axis
    (the axes' w column, as computed)."""

    axes: np.ndarray
    centre: np.ndarray
    sup_c: np.ndarray
    sup_n: np.ndarray
    inf_c: np.ndarray
    inf_n: np.ndarray
    w: np.ndarray


def _slice_axis(direction: np.ndarray, w0: np.ndarray) -> tuple[int, float]:
    """(k_axis, sign_k): the voxel axis nearest to w and its sign along w."""
    k_axis = int(np.argmax(np.abs(direction.T @ w0)))
    sign_k = 1.0 if (direction[:, k_axis] @ w0) > 0 else -1.0
    return k_axis, sign_k


def _surface_points(
    mask: np.ndarray, k_axis: int, sign_k: float, cranial: bool, to_lps: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The mask's cranial (caudal) surface points (LPS): each boundary voxel's centre moved half a voxel
    out along the voxel axis `k_axis` nearest to w (`_slice_axis`)."""
    # Surface points of the mask, half a voxel out along the voxel axis nearest to w.
    step = 1 if (sign_k > 0) == cranial else -1
    shifted = np.zeros_like(mask)
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    if step > 0:
        src[k_axis], dst[k_axis] = slice(1, None), slice(None, -1)
    else:
        src[k_axis], dst[k_axis] = slice(None, -1), slice(1, None)
    shifted[tuple(dst)] = mask[tuple(src)]
    surf = mask & ~shifted
    ijk = np.argwhere(surf).astype(np.float64)
    ijk[:, k_axis] += 0.5 * step
    return to_lps(ijk)


def _rim_plane(
    pts: np.ndarray,
    cranial: bool,
    axes_now: np.ndarray,
    centre_now: np.ndarray,
    centre: np.ndarray,
    a_: float,
    b_: float,
    posterior_limit: float,
    direction: np.ndarray,
    spacing: np.ndarray,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit w = c0 + c1 u + c2 v - k (1 - rho^2) to the endplate surface inside rho < 0.95: a rim
    plane with a shallow paraboloid concavity; the plane term is the rim plane.

    `pts` are the surface points (`_surface_points`), `centre_now` the ring's centre in the frame
    `axes_now`, `centre` the body's, behind whose `posterior_limit` (local v) no point is fitted; returns
    the endplate centre (on the axis through `centre_now`) and its normal (LPS)."""
    loc = (pts - centre_now) @ axes_now
    rho2 = (loc[:, 0] / a_) ** 2 + (loc[:, 1] / b_) ** 2
    sel = (rho2 < RIM_RING[1] ** 2) & ((loc[:, 2] > 3.0) if cranial else (loc[:, 2] < -3.0))
    sel &= loc[:, 1] < posterior_limit - (centre_now - centre) @ axes_now[:, 1]
    if sel.sum() < 20:
        side = "superior" if cranial else "inferior"
        raise InvalidInputError(f"{name}: too few endplate surface points to fit its {side} endplate")
    p = loc[sel]
    sgn = 1.0 if cranial else -1.0
    design = np.column_stack([np.ones(len(p)), p[:, 0], p[:, 1], sgn * (1.0 - rho2[sel])])
    # A segmentation's edge rule can drop an endplate's outermost voxel where its thin cortex falls
    # between voxel centres (a thick slice's partial volume), never add one: the disc lies beyond.
    # A label's surface lies within half a voxel (along w) of the true surface, so a point farther
    # inside the fit than that is such a dropped voxel (or the floor of a pocket under the
    # threshold) and is left out, as the 2.5 sd trim leaves out bone beyond the surface; the fit is
    # repeated until the points kept no longer change. The trim's sd is at least half a voxel: on
    # a surface quantised to slices a narrower trim keeps one terrace, whose fit is then flat
    # along the slices and keeps it again (true bone of bench patient 2, 1.5 mm slices: L4's
    # superior endplate 0.99 mm off with the 0.3 mm floor alone, 0.31 with it). Where the drops are
    # one-sided the fit could bend instead: endplates are concave or flat (Wang Y et al., Eur
    # Spine J 2012;21:1737), so a convex fit (rim beyond the centre) is refitted as the plane
    # alone. On 2 mm slices (bench patient 9, segment_spine's labels) the dropped voxels lie in
    # bands along the terraces' edges, a third to a half of the columns at rho 0.5-0.9; L4's
    # inferior endplate came 2.06 mm inside and tilted 8 degrees. The 10 bench patients from
    # segment_spine's labels: endplate centres max 2.51 -> 1.11 mm (mean 0.62 -> 0.53), pedicle
    # centres max 2.42 -> 1.81 (through the frame); from true bone: endplates max 1.02 -> 1.03
    # (main had 1.03), mean 0.50, body and pedicles unchanged. (The inward cut at 0.2 / 0.4 mm
    # beyond the half voxel: endplates max 1.46 / 1.91 mm; the cut without the concavity bound:
    # 2.40; the bound alone: 1.79; each with the trim's old 0.3 mm floor.)
    half_w = float(_half_voxel(axes_now, direction, spacing)[2])
    keep = np.ones(len(p), bool)
    for _ in range(ENDPLATE_FIT_PASSES):
        coef, *_ = np.linalg.lstsq(design[keep], p[keep, 2], rcond=None)
        if coef[3] > 0.0:
            coef = np.append(np.linalg.lstsq(design[keep, :3], p[keep, 2], rcond=None)[0], 0.0)
        r = p[:, 2] - design @ coef
        sd = max(float(np.std(r[keep])), 0.3, half_w)
        kept = (np.abs(r) < 2.5 * sd) & (sgn * r > -half_w)
        if np.array_equal(kept, keep) or kept.sum() < 20:
            break
        keep = kept
    c0_, c1_, c2_ = coef[0], coef[1], coef[2]
    n_local = _unit(np.array([-c1_, -c2_, 1.0])) * sgn
    n = axes_now @ n_local
    return centre_now + axes_now[:, 2] * c0_, n


def _endplate_frame(
    surfaces: dict[bool, np.ndarray],
    axes: np.ndarray,
    centre: np.ndarray,
    u0: np.ndarray,
    a: float,
    v_front: float,
    vc: float,
    v_post: float,
    *,
    direction: np.ndarray,
    spacing: np.ndarray,
    name: str,
    is_sacral: bool,
) -> EndplateFrame:
    """The frame refined on the rim planes (`_rim_plane`) of the cranial and caudal `surfaces` (keyed by
    `cranial`), fitted twice: first in the body's first frame (`axes`, `centre`; `u0` its u axis), then
    in the frame the first fit refined. The ring is the body's footprint (half-width `a`) over its depth
    from `v_front` to the posterior wall `v_post` (`vc`: the footprint's mean v)."""
    posterior_limit = v_post - 1.0
    b_ring = 0.5 * (v_post - v_front)  # ring normalised over the body's AP extent
    for i_pass in range(2):  # the second pass fits the rims in the frame the first one refined
        centre_ring = centre + axes[:, 1] * (0.5 * (v_post + v_front) - vc + (vc if i_pass == 0 else 0.0))
        sup_c, sup_n = _rim_plane(
            surfaces[True], True, axes, centre_ring, centre, a, b_ring, posterior_limit, direction, spacing, name
        )
        inf_c, inf_n = _rim_plane(
            surfaces[False], False, axes, centre_ring, centre, a, b_ring, posterior_limit, direction, spacing, name
        )
        # refine the frame: w the bisector of the endplate normals, origin midway between centres; S1's
        # caudal end is fused with S2 (no endplate on CT), so its axis is its superior endplate's normal
        w1 = sup_n if is_sacral else _unit(sup_n - inf_n)
        u1 = _unit(u0 - (u0 @ w1) * w1)
        v1 = np.cross(w1, u1)
        axes = np.column_stack([u1, v1, w1])
        sup_c = sup_c - axes[:, 1] * (0.5 * (v_post + v_front) - vc)
        inf_c = inf_c - axes[:, 1] * (0.5 * (v_post + v_front) - vc)
        centre = 0.5 * (sup_c + inf_c)
    return EndplateFrame(axes, centre, sup_c, sup_n, inf_c, inf_n, w1)


def _wall_tilt_frame(
    frame: EndplateFrame, all_pts: np.ndarray, k_dir: np.ndarray, step: float, is_sacral: bool
) -> EndplateFrame:
    """`frame` with its axis leaned by the body's walls (`_sagittal_wall_tilt`) where both rim planes are
    slice planes (normal to the slice axis `k_dir`); otherwise, and for S1, `frame` itself. `all_pts`
    are the vertebra's points (LPS), `step` the largest voxel spacing."""
    axes, centre, sup_c, sup_n, inf_c, inf_n, w1 = frame
    if is_sacral or not all(abs(float(n @ k_dir)) > 1.0 - 1e-9 for n in (sup_n, inf_n)):
        return frame
    # Both rim planes are slice planes: each fit kept the points of one slice only (thick slices over a
    # body whose endplates tilt less than a slice across their depth), so the body's sagittal tilt is
    # not seen in them. It is taken from the body's anterior and posterior walls, which span every
    # slice of its height (`_sagittal_wall_tilt`); the endplates are then taken normal to that axis.
    # Bench patient 9 (2 mm slices), L4 from either source: the axis 3.06 -> 0.38 degrees off the
    # truth, its endplate centres max 1.06 -> 0.78 mm. Over the 10 bench patients (50 lumbar vertebrae per
    # source) it applies to 5: axis error mean 0.64 -> 0.46 degrees, max 3.06 -> 1.74 (one of the
    # five, patient 7's L3 from the CT, 0.73 -> 1.36). Downstream, in the L4 frame: traversing root
    # L1-L4 max 3.37 -> 1.14 mm (true bone) and 3.67 -> 1.82 (CT), dural sac centre max 1.41 -> 0.94
    # and 1.55 -> 0.97; Kambin's circle within 1 mm on 199 of 200 sides then (was 198; soft_tissue_estimates
    # has today's figure).
    loc_mid = (all_pts - centre) @ axes
    mid_rows = loc_mid[np.abs(loc_mid[:, 0]) < 5.0]
    tilt = _sagittal_wall_tilt(mid_rows, float((sup_c - inf_c) @ w1), step)
    if tilt is None:
        return frame
    w1 = _unit(axes[:, 2] + np.tan(tilt) * axes[:, 1])
    v1 = np.cross(w1, axes[:, 0])
    axes = np.column_stack([axes[:, 0], v1, w1])
    sup_c = centre + w1 * float((sup_c - centre) @ w1)
    inf_c = centre + w1 * float((inf_c - centre) @ w1)
    sup_n, inf_n = w1, -w1
    return EndplateFrame(axes, centre, sup_c, sup_n, inf_c, inf_n, w1)

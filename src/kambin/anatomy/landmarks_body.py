"""The vertebral body in one vertebra's label, the first steps of `kambin.anatomy.landmarks`: the label's
mask (its cancellous cavity filled), the body core, a first local frame from the core, and the body's
footprint and half-width.

Method: a morphological opening of the vertebra mask by a 9 mm ball removes the pedicles (at most about
15 x 14 mm, Zindrick et al., Spine 1987;12(2):160-166), laminae and processes (all thinner than 18 mm,
fillets included) and keeps the body (about 45 x 35 x 27 mm, Panjabi et al., Spine 1992;17(3):299-306);
its largest part is the body core. v points from the core to the posterior elements, w is the narrower
in-plane principal axis of the core (a body's height is smaller than its width), u = v x w points to the
patient's left. The body's footprint is taken in the 3.5 mm under its cranial surface, where nothing but
the body is as thick (for S1 the endplate's own columns, which excludes the alae); its half-width is
taken again, once the frame is refined, from the body's anterior half (`_body_half_width`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume

#: Radius of the ball that opens the pedicles and processes away (mm); see the module docstring.
BODY_OPENING_MM = 9.0
#: Openings of a cortical shell sealed before its cavity is filled (mm): the basivertebral foramen
#: (a few mm) and the gaps between thick slices (`_fill_cancellous_cavity`).
CAVITY_SEAL_MM = 3.0


def _crop(mask: np.ndarray, margin: int = 2) -> tuple[tuple[slice, ...], np.ndarray]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    return box, lo


def _opening(mask: np.ndarray, spacing: np.ndarray, radius_mm: float) -> np.ndarray:
    """Binary opening by a ball (Euclidean, anisotropic spacing), by two distance transforms."""
    eroded = ndimage.distance_transform_edt(mask, sampling=spacing) > radius_mm
    if not eroded.any():
        return eroded
    return ndimage.distance_transform_edt(~eroded, sampling=spacing) <= radius_mm


def _closing(mask: np.ndarray, spacing: np.ndarray, radius_mm: float) -> np.ndarray:
    """Binary closing by a ball (Euclidean, anisotropic spacing), by two distance transforms."""
    dilated = ndimage.distance_transform_edt(~mask, sampling=spacing) <= radius_mm
    return ndimage.distance_transform_edt(dilated, sampling=spacing) > radius_mm


def _fill_cancellous_cavity(mask: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """The mask with its enclosed cavities filled: a body whose cancellous bone fell under a CT
    segmentation's bone threshold (osteoporotic bone, about 100 HU and less: Pickhardt PJ et al., Ann
    Intern Med 2013;158:588-595) is a cortical shell, which the body's opening would not find. The
    cavity is what a 3D hole filling adds once openings narrower than `CAVITY_SEAL_MM` (the
    basivertebral foramen, gaps between thick slices) are sealed by a closing; the canal, open at
    both ends, is not enclosed and stays empty, and the closing's own additions are not kept."""
    sealed = _closing(mask, spacing, CAVITY_SEAL_MM)
    cavity = ndimage.binary_fill_holes(sealed | mask) & ~sealed & ~mask
    return mask | cavity if cavity.any() else mask


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _half_voxel(axes: np.ndarray, direction: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Half a voxel's extent along each local axis (u, v, w; mm): a label's surface lies that far
    beyond its last voxel centre."""
    return 0.5 * np.abs(axes.T @ direction) @ spacing


def _vertebra_mask(labels: Volume, label_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The voxels of `labels` equal to `label_id`, cropped to their box with room for the body's opening
    and their cancellous cavity filled (`_fill_cancellous_cavity`), and the box's first voxel (ijk).

    Raises:
        InvalidInputError: the label is absent or too small to be a vertebra.
    """
    full = np.asarray(labels.voxels) == label_id
    if full.sum() < 200:
        raise InvalidInputError(f"{name} (label {label_id}) has {int(full.sum())} voxels, too few for a vertebra")
    box, lo = _crop(full, margin=int(np.ceil(BODY_OPENING_MM / labels.spacing_mm.min())) + 2)
    spacing = labels.spacing_mm
    mask = _fill_cancellous_cavity(full[box], spacing)
    return mask, lo


def _body_core(mask: np.ndarray, spacing: np.ndarray, name: str, label_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(body core, vertebra mask): the largest part of the mask opened by a `BODY_OPENING_MM` ball, and
    the piece of the mask connected to it (see the module docstring).

    Raises:
        InvalidInputError: no part of the mask is thick enough to be a vertebral body.
    """
    # The body core is opened from the mask closed by `CAVITY_SEAL_MM`, then cut back to the mask: a
    # pocket under a segmentation's bone threshold that opens through the posterior wall (the
    # basivertebral venous channel and its foramen, a few mm wide at the wall's midline: Standring,
    # Gray's Anatomy; kambin.phantom paints it at 45 HU, 4.4 x 3.6 mm, from the body's mid-depth
    # through the wall) is narrower than the closing, which fills it whole, so the cavity fill above
    # does not keep it; left open, the 9 mm ball could not enter the body's posterior part around it,
    # and the core's centroid (the body centre) moved forward. Phantom seed 6 L1, segment_spine's
    # label: a 4 x 9 mm pocket, core 1.4 mm short of the wall, body centre 1.31 mm forward. The 10 bench
    # patients from segment_spine's labels: body centre max 1.43 -> 0.74 mm (mean 0.81 -> 0.39),
    # endplate centres max 2.75 -> 2.51 (mean 0.95 -> 0.62), pedicle centres max 2.45 -> 2.42 (mean
    # 0.64 -> 0.62); from true bone: body mean 0.31 -> 0.28, endplates 0.52 -> 0.50, pedicles max
    # 1.16 and mean 0.41 unchanged; downstream, Kambin's inscribed circle at L5-S1 max 12.5 -> 2.2 mm
    # and the dural sac's centre max 10.1 -> 2.4 mm (bench_anatomy's figures from segment_spine).
    core = _opening(_closing(mask, spacing, CAVITY_SEAL_MM), spacing, BODY_OPENING_MM) & mask
    lab, n = ndimage.label(core)
    if n == 0:
        raise InvalidInputError(f"{name} (label {label_id}) has no part thick enough to be a vertebral body")
    sizes = np.bincount(lab.ravel())[1:]
    core = lab == int(np.argmax(sizes)) + 1
    # the vertebra is one piece of bone: pieces of the label not connected to its body (a neighbour's
    # process given this label by a segmentation) are not measured
    pieces, _ = ndimage.label(mask)
    mask = pieces == np.bincount(pieces[core & mask]).argmax()
    core &= mask
    return core, mask


def _initial_axes(
    core: np.ndarray,
    mask: np.ndarray,
    core_pts: np.ndarray,
    c0: np.ndarray,
    to_lps: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u0, w0, axes): the first frame from the body core (LPS points `core_pts`, centroid `c0`), its
    axes the columns u, v, w (see the module docstring); `to_lps` maps the mask's ijk to LPS."""
    # v: from the body core toward the rest (posterior elements); falls back to +y (LPS posterior).
    dilated_core = ndimage.binary_dilation(core, iterations=2)
    post_pts = to_lps(np.argwhere(mask & ~dilated_core))
    v0 = _unit(post_pts.mean(axis=0) - c0) if len(post_pts) > 50 else np.array([0.0, 1.0, 0.0])
    if v0[1] < 0.3:  # posterior elements not behind the body: trust the patient's orientation
        v0 = np.array([0.0, 1.0, 0.0])
    # w: narrower principal axis of the core in the plane normal to v (height < width).
    q = core_pts - c0
    q = q - np.outer(q @ v0, v0)
    _, _, vt = np.linalg.svd(q, full_matrices=False)
    cand = [vt[0], vt[1]]
    cand = [_unit(c - (c @ v0) * v0) for c in cand]
    var = [float(np.var(q @ c)) for c in cand]
    w0 = cand[int(np.argmin(var))]
    w0 = w0 if w0[2] >= 0 else -w0
    u0 = _unit(np.cross(v0, w0))
    v0 = np.cross(w0, u0)
    axes = np.column_stack([u0, v0, w0])
    return u0, w0, axes


def _body_footprint(
    core_pts: np.ndarray, all_pts: np.ndarray, c0: np.ndarray, axes: np.ndarray, spacing: np.ndarray, is_sacral: bool
) -> tuple[float, float, float, float]:
    """(uc, a, v_front, vc) of the body's footprint in the frame `axes` about `c0`: its centre in u, its
    half-width, its anterior surface in v and the mean v of the body core within it."""
    # Footprint of the body: core points within 3.5 mm of its cranial end (S1: excludes the alae).
    lw = (core_pts - c0) @ axes
    top = np.percentile(lw[:, 2], 99.5)
    near_top = lw[lw[:, 2] > top - (2.0 if is_sacral else 3.5)]
    uc = 0.5 * (near_top[:, 0].min() + near_top[:, 0].max())
    a = 0.5 * (near_top[:, 0].max() - near_top[:, 0].min()) + 0.5 * spacing[0]
    v_front = near_top[:, 1].min() - 0.5 * spacing[1]
    in_foot = np.abs(lw[:, 0] - uc) <= a
    body_core = lw[in_foot]
    vc = body_core[:, 1].mean()
    if is_sacral:
        uc, a, v_front, vc = _sacral_endplate_footprint((all_pts - c0) @ axes, lw, float(spacing.max()))
    # The top's footprint can miss the body's front: on thick slices a stair-stepped top may hold only
    # its back half (bench patient 9, segment_spine's L3: front 10 mm behind the body's, half-depth 3.3
    # mm against 13.1-13.4 for its neighbours). The discs are painted inside this outline, so the back
    # of the annulus was left unlabelled and the herniation search took it for fragment: 6533 voxels
    # across both sides of L2-L3 and L3-L4 (Dice 0.12 with the true fragment at L3-L4); with the front
    # at every height, 293 voxels at L3-L4 (Dice 0.71) and none at L2-L3. Of the 10 patients' 100
    # lumbar vertebrae, both sources, only this one trips it.
    front_every_height = body_core[:, 1].min() - 0.5 * spacing[1]
    if not is_sacral and v_front - front_every_height > 0.25 * (body_core[:, 1].max() - front_every_height):
        v_front = front_every_height
    return uc, a, v_front, vc


def _sacral_endplate_footprint(loc: np.ndarray, core_loc: np.ndarray, step: float) -> tuple[float, float, float, float]:
    """S1's superior endplate footprint (uc, a, v_front, vc): the columns (1 mm bins in u, v) of the
    body core whose highest bone lies less than 2.2 mm under a plane fitted to the highest columns, the
    part connected to the centre. The alae and the sacrum beside and below the S1 body top out at
    least 4 mm lower (Panjabi 1992 and kambin.phantom's sacrum), so they drop out."""
    binw = max(step, 1.0)
    key = np.floor(loc[:, :2] / binw).astype(int)
    core_key = {tuple(k) for k in np.floor(core_loc[:, :2] / binw).astype(int)}
    lo = key.min(axis=0)
    shape = tuple(key.max(axis=0) - lo + 1)
    height = np.full(shape, -np.inf)
    np.maximum.at(height, tuple((key - lo).T), loc[:, 2])
    in_core = np.zeros(shape, bool)
    for k in core_key:
        i = np.array(k) - lo
        if np.all(i >= 0) and np.all(i < shape):
            in_core[tuple(i)] = True
    height[~in_core] = -np.inf
    ii, jj = np.nonzero(np.isfinite(height))
    u = (ii + lo[0] + 0.5) * binw
    v = (jj + lo[1] + 0.5) * binw
    h = height[ii, jj]
    sel = h > np.percentile(h, 95) - 2.0
    for _ in range(5):
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(sel.sum()), u[sel], v[sel]]), h[sel], rcond=None)
        resid = h - (coef[0] + coef[1] * u + coef[2] * v)
        sel = (resid > -2.2) & (resid < 3.0)
    grid = np.zeros(shape, bool)
    grid[ii[sel], jj[sel]] = True
    lab, n = ndimage.label(grid)
    if n > 1:
        sizes = np.bincount(lab.ravel())[1:]
        grid = lab == int(np.argmax(sizes)) + 1
    fi, fj = np.nonzero(grid)
    fu = (fi + lo[0] + 0.5) * binw
    fv = (fj + lo[1] + 0.5) * binw
    # The endplate is symmetric about the sacrum's midsagittal plane (the median u of all its bone:
    # both alae), so the side that ends nearer to it gives the half-width. On thick slices the stair
    # steps of a 2 mm grid across an endplate tilted 40 degrees leave one ala's top within 2.2 mm of
    # the plane now and then, and that side ran on into the ala (seed 9 of bench_anatomy, from the CT:
    # footprint u -30..+46 mm, endplate centre 8.7 mm off the midline; the truth's -30..+30).
    mid = float(np.median(loc[:, 0]))
    a = min(mid - fu.min(), fu.max() - mid) + 0.5 * binw
    return mid, float(a), float(fv.min() - 0.5 * binw), float(fv.mean())


def _body_half_width(
    loc_all: np.ndarray, a: float, v_front: float, vc: float, height: float, spacing: np.ndarray
) -> float:
    """The body's half-width in the refined frame (`loc_all`: the mask's points, local u, v, w), `a`
    (the footprint's) where the band below holds no bone."""
    # half-width from the anterior half of the body, away from the pedicles (the widest section)
    band = loc_all[
        (loc_all[:, 1] > v_front - vc + 2.0) & (loc_all[:, 1] < 3.0) & (np.abs(loc_all[:, 2]) < height / 2 - 2.0)
    ]
    if len(band):
        a = 0.5 * (band[:, 0].max() - band[:, 0].min()) + 0.5 * spacing[0]
    return a

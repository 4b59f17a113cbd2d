"""Landmarks of one vertebra from its label mask: body frame, endplates, posterior wall, canal,
pedicles, superior articular process tips, spinous process tip and the midsagittal plane.

Every landmark is measured on the label mask alone (the CT is not needed once the bone is
labelled), in patient LPS millimetres. The vertebra's local frame follows the convention of the
anatomical literature and of `kambin.phantom`: u to the patient's left, v posterior, w superior
(along the body's axis), origin at the body centre.

Methods (each step's module and function says more):

- Body: a morphological opening of the vertebra mask by a 9 mm ball removes the pedicles (at most
  about 15 x 14 mm, Zindrick et al., Spine 1987;12(2):160-166), laminae and processes (all thinner
  than 18 mm, fillets included) and keeps the body (about 45 x 35 x 27 mm, Panjabi et al., Spine 1992;17(3):299-306);
  its largest part is the body core. The body's footprint is taken in the 3.5 mm under its cranial
  surface, where nothing but the body is as thick (for S1 this excludes the alae).
- Axes: v from the body core to the posterior elements; w the narrower in-plane principal axis
  of the body (its height is smaller than its width), then the bisector of the two endplate normals;
  where both endplate fits are slice planes (thick slices: each endplate within one slice), the
  body's sagittal lean is taken from its anterior and posterior walls instead.
- Endplates: the cranial (caudal) surface points of the mask within 95 % of the body's radius are
  fitted (least squares, trimmed) by a plane plus a paraboloid concavity (the central endplate is
  1-2 mm concave; Wang Y et al., Eur Spine J 2012;21:1737); the plane term is the rim plane of
  the ring apophysis.
  The endplate centre is where the body axis meets that rim plane.
- Posterior wall and canal depth: along the midline (|u| < 3 mm), the posterior end of the body
  and the anterior surface of the lamina beside the body's mid-height (canal depth as in Panjabi
  1992; `landmarks_midline._lamina_front_at_mid_height`).
- Canal midline: halfway between the two pedicles' medial walls (the canal width's middle).
- Pedicles: the bone bridge between the body and the arch, 1-7 mm behind the posterior wall; the
  medial wall gives the axis direction (transverse angle, Zindrick 1987; Theil-Sen slope behind the
  body's fillet, both sides' mean where it sets the width's run across), the narrowest section of
  the first 2 mm (in front of the transverse process) its width, its height the vertical extent a
  quarter of the width in from the medial wall over sqrt(3)/2 (an oval section), the isthmus centre
  is taken 4 mm behind the posterior wall. Every surface lies half a voxel beyond the last voxel centre, measured
  along the local axis (with 2 mm slices a whole-voxel offset put the posterior wall 0.5 mm behind).
- Process tips: the extreme point of the process in the vertebra's frame, the most cranial point of
  the superior articular process and the most posterior point of the spinous process (the extremes
  Panjabi 1992 and Panjabi MM et al., Spine 1993;18(10):1298-1310 digitise). Both processes end in a
  broad face (the facet's upper margin; the lumbar spinous process's vertical posterior border), on
  which the single extreme point is ill-defined, so the tip is placed at the extreme level (half a
  voxel beyond the last voxel centre) at the centre of the bone within
  `landmarks_processes.SAP_TIP_CAP_MM` / `SPINOUS_TIP_CAP_MM` of it. `kambin.phantom.measure.process_tips`
  gives the truth by the same definition on the phantom's solid. The SAP is searched lateral to the canal and behind the
  pedicles on each side, the spinous process within 6 mm of the midline behind the lamina.

The measurement is split by job: the body core and first frame (`kambin.anatomy.landmarks_body`), the
endplates and the refined frame (`landmarks_endplates`), the midline profile of the posterior wall and
the canal (`landmarks_midline`), the pedicles (`landmarks_pedicles`) and the process tips
(`landmarks_processes`); this module holds the record (`VertebraLandmarks`), runs the steps
(`vertebra_landmarks`) and gives the population-based estimates (`size_scale`,
`pedicle_width_estimate_mm`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kambin.anatomy.landmarks_body import (
    _body_core,
    _body_footprint,
    _body_half_width,
    _half_voxel,
    _initial_axes,
    _vertebra_mask,
)
from kambin.anatomy.landmarks_endplates import _endplate_frame, _slice_axis, _surface_points, _wall_tilt_frame
from kambin.anatomy.landmarks_midline import _midline_runs, _posterior_wall_and_lamina
from kambin.anatomy.landmarks_pedicles import PedicleSearch, _pedicle_isthmus, _pedicle_slab_step, _pedicle_wall
from kambin.anatomy.landmarks_processes import _sap_tip, _spinous_tip
from kambin.imaging.volume import Volume

SIDES = {"left": 1.0, "right": -1.0}
#: Mean pedicle transverse width per level (mm), Zindrick et al. 1987 (L5 at its isthmus, as in
#: kambin.phantom.morphometry), and mean body width (mm), Panjabi et al. 1992, for the size scale.
PEDICLE_WIDTH_MEAN_MM = {"T11": 7.5, "T12": 8.0, "L1": 8.7, "L2": 8.9, "L3": 10.3, "L4": 12.9, "L5": 15.5, "S1": 16.0}
BODY_WIDTH_MEAN_MM = {"T11": 37.0, "T12": 39.0, "L1": 41.0, "L2": 43.0, "L3": 45.0, "L4": 48.0, "L5": 50.0, "S1": 50.0}


@dataclass
class VertebraLandmarks:
    """One vertebra's landmarks (LPS mm; unit LPS vectors). `axes_lps` columns are u, v, w."""

    name: str
    label_id: int
    body_centre_lps_mm: np.ndarray
    axes_lps: np.ndarray
    superior_endplate_centre_lps_mm: np.ndarray
    superior_endplate_normal_lps: np.ndarray
    inferior_endplate_centre_lps_mm: np.ndarray
    inferior_endplate_normal_lps: np.ndarray
    body_height_mm: float
    body_half_width_mm: float  # a: half of the body's left-right width
    body_half_depth_mm: float  # b: half of the anterior-posterior depth, centre to anterior surface
    posterior_wall_v_mm: float  # v of the posterior body wall in the local frame
    canal_depth_mm: float
    canal_width_mm: float  # between the pedicles' medial walls
    # u of the canal's midline, halfway between the pedicles' medial walls (0 when one is missing): the
    # sac and the roots are placed from it (soft_tissue_estimates), as the body centre can sit off it
    canal_centre_u_mm: float = 0.0
    pedicle_centre_lps_mm: dict[str, np.ndarray] = field(default_factory=dict)
    pedicle_axis_lps: dict[str, np.ndarray] = field(default_factory=dict)
    pedicle_width_mm: dict[str, float] = field(default_factory=dict)
    pedicle_height_mm: dict[str, float] = field(default_factory=dict)
    pedicle_bottom_w_mm: dict[str, float] = field(default_factory=dict)  # caudal margin, local w
    pedicle_u_mm: dict[str, float] = field(default_factory=dict)  # |u| of the isthmus centre
    superior_articular_process_tip_lps_mm: dict[str, np.ndarray] = field(default_factory=dict)
    spinous_process_tip_lps_mm: np.ndarray | None = None
    is_sacral: bool = False

    # local frame helpers -------------------------------------------------------------------
    def point(self, u: float, v: float, w: float) -> np.ndarray:
        """LPS position of local (u, v, w)."""
        return self.body_centre_lps_mm + self.axes_lps @ np.array([u, v, w], dtype=np.float64)

    def points(self, uvw: np.ndarray) -> np.ndarray:
        return np.asarray(uvw, dtype=np.float64) @ self.axes_lps.T + self.body_centre_lps_mm

    def local(self, lps: np.ndarray) -> np.ndarray:
        """Local (u, v, w) of LPS points (N, 3) or (3,)."""
        return (np.asarray(lps, dtype=np.float64) - self.body_centre_lps_mm) @ self.axes_lps

    @property
    def midsagittal_normal_lps(self) -> np.ndarray:
        """Normal of the midsagittal plane (through the body centre): the u axis."""
        return self.axes_lps[:, 0].copy()


def vertebra_landmarks(labels: Volume, label_id: int, name: str, is_sacral: bool = False) -> VertebraLandmarks:
    """Measure one vertebra's landmarks from the voxels of `labels` equal to `label_id`.

    The steps (each says more): the label's mask and the body core (`_vertebra_mask`, `_body_core`), a
    first frame and the body's footprint (`_initial_axes`, `_body_footprint`), the frame refined on the
    endplates' rim planes (`_endplate_frame`, `_wall_tilt_frame`), the body's half-width, the posterior
    wall and the canal on the midline (`_body_half_width`, `_posterior_wall_and_lamina`), then the
    pedicles (`_pedicles`) and the process tips (`_processes`).

    Raises:
        InvalidInputError: the label is absent or too small to be a vertebra.
    """
    mask, lo = _vertebra_mask(labels, label_id, name)
    spacing = labels.spacing_mm
    direction = labels.direction_lps

    def to_lps(ijk: np.ndarray) -> np.ndarray:
        return labels.ijk_to_lps(np.asarray(ijk, dtype=np.float64) + lo)

    core, mask = _body_core(mask, spacing, name, label_id)
    core_pts = to_lps(np.argwhere(core))
    all_pts = to_lps(np.argwhere(mask))
    c0 = core_pts.mean(axis=0)
    u0, w0, axes = _initial_axes(core, mask, core_pts, c0, to_lps)
    uc, a, v_front, vc = _body_footprint(core_pts, all_pts, c0, axes, spacing, is_sacral)
    centre = c0 + axes @ np.array([uc, vc, 0.0])
    b = vc - v_front

    # Posterior wall: midline points, the first contiguous run in v is the body.
    loc_all = (all_pts - centre) @ axes
    mid = loc_all[np.abs(loc_all[:, 0]) < 1.5]
    v_post, _ = _midline_runs(mid, spacing.max(), _half_voxel(axes, direction, spacing)[1])
    k_axis, sign_k = _slice_axis(direction, w0)
    surfaces = {cranial: _surface_points(mask, k_axis, sign_k, cranial, to_lps) for cranial in (True, False)}
    frame = _endplate_frame(
        surfaces,
        axes,
        centre,
        u0,
        a,
        v_front,
        vc,
        v_post,
        direction=direction,
        spacing=spacing,
        name=name,
        is_sacral=is_sacral,
    )
    frame = _wall_tilt_frame(frame, all_pts, direction[:, k_axis], float(spacing.max()), is_sacral)
    axes, centre = frame.axes, frame.centre
    height = float((frame.sup_c - frame.inf_c) @ frame.w)
    loc_all = (all_pts - centre) @ axes
    half = _half_voxel(axes, direction, spacing)
    if not is_sacral:
        a = _body_half_width(loc_all, a, v_front, vc, height, spacing)
    v_post, lamina_v = _posterior_wall_and_lamina(loc_all, height, spacing.max(), half[1], is_sacral)
    lm = VertebraLandmarks(
        name=name,
        label_id=int(label_id),
        body_centre_lps_mm=centre,
        axes_lps=axes,
        superior_endplate_centre_lps_mm=frame.sup_c,
        superior_endplate_normal_lps=frame.sup_n,
        inferior_endplate_centre_lps_mm=frame.inf_c,
        inferior_endplate_normal_lps=frame.inf_n,
        body_height_mm=height,
        body_half_width_mm=float(a),
        body_half_depth_mm=float(b),
        posterior_wall_v_mm=float(v_post),
        canal_depth_mm=float(lamina_v - v_post) if lamina_v is not None else float("nan"),
        canal_width_mm=float("nan"),
        is_sacral=is_sacral,
    )
    slab_step = _pedicle_slab_step(name, spacing, direction, axes)
    _pedicles(lm, loc_all, float(spacing.max()), half, slab_step)
    _processes(lm, loc_all, spacing, direction)
    return lm


def size_scale(lm: VertebraLandmarks) -> float:
    """This vertebra's body width over the population mean of its level (Panjabi 1992), 0.85-1.15."""
    mean = BODY_WIDTH_MEAN_MM.get(lm.name, 45.0)
    return float(np.clip(2.0 * lm.body_half_width_mm / mean, 0.85, 1.15))


def pedicle_width_estimate_mm(lm: VertebraLandmarks) -> float:
    """Pedicle width: the level's mean (Zindrick 1987) times the body's size scale."""
    return PEDICLE_WIDTH_MEAN_MM.get(lm.name, 10.0) * size_scale(lm)


def _pedicles(lm: VertebraLandmarks, loc: np.ndarray, step: float, half_vox: np.ndarray, slab_step: float) -> None:
    """Pedicle isthmus centre, axis, width and height per side (see the module docstring); `step` is the
    largest voxel spacing, `slab_step` the slabs' in v (`_pedicle_slab_step`). Sets the canal's width
    and midline between the medial walls where both pedicles are found."""
    search = PedicleSearch(
        lm.posterior_wall_v_mm,
        lm.body_height_mm,
        lm.is_sacral,
        step,
        half_vox,
        slab_step,
        lm.name,
        pedicle_width_estimate_mm(lm),
        size_scale(lm),
    )
    walls = {}
    for side, s in SIDES.items():
        wall = _pedicle_wall(loc, s, search)
        if wall is not None:
            walls[side] = wall
    # the two pedicles' transverse angles are alike (Zindrick 1987): their mean slope is steadier than
    # either side's, whose medial wall is a staircase of voxels over a few mm
    slope_both = float(np.mean([w.slope for w in walls.values()])) if walls else 0.0
    medial_walls = {}
    for side, wall in walls.items():
        pedicle = _pedicle_isthmus(wall, SIDES[side], search, slope_both)
        lm.pedicle_centre_lps_mm[side] = lm.point(*pedicle.centre_uvw)
        lm.pedicle_axis_lps[side] = lm.axes_lps @ pedicle.axis_uvw
        lm.pedicle_width_mm[side] = pedicle.width_mm
        lm.pedicle_height_mm[side] = pedicle.height_mm
        lm.pedicle_bottom_w_mm[side] = pedicle.bottom_w_mm
        lm.pedicle_u_mm[side] = pedicle.u_mm
        medial_walls[side] = pedicle.u_mm - 0.5 * pedicle.width_mm
    if len(medial_walls) == 2:
        lm.canal_width_mm = float(medial_walls["left"] + medial_walls["right"])
        lm.canal_centre_u_mm = float(0.5 * (medial_walls["left"] - medial_walls["right"]))


def _processes(lm: VertebraLandmarks, loc: np.ndarray, spacing: np.ndarray, direction: np.ndarray) -> None:
    """Superior articular process tips and the spinous process tip (see the module docstring).

    Each is searched where the process lies in its own vertebra, so that a neighbour's bone given this
    vertebra's label is not taken for it: the SAP tip behind its pedicle (`SAP_REGION_U_MM`,
    `SAP_REGION_V_MM`), above the superior endplate and at most `SAP_TIP_ABOVE_ENDPLATE_MM` above it,
    with no bone of this label above that in its column; the
    spinous tip within `SPINOUS_TIP_BAND_MM` of the body's height and at least
    `SPINOUS_MIN_LENGTH_MM` behind the canal. A process not found there is left out. (The regions and
    the searches: `kambin.anatomy.landmarks_processes`, `_sap_tip` and `_spinous_tip`.)
    """
    vp, h = lm.posterior_wall_v_mm, lm.body_height_mm
    # half a voxel's extent along each local axis: the surface lies that far beyond the last centre
    half_voxel = 0.5 * np.abs(lm.axes_lps.T @ direction) @ spacing
    for side, s in SIDES.items():
        if side not in lm.pedicle_u_mm:
            continue
        tip = _sap_tip(loc, s, lm.pedicle_u_mm[side], vp, h, half_voxel[2])
        if tip is not None:
            lm.superior_articular_process_tip_lps_mm[side] = lm.point(*tip)
    if lm.is_sacral:
        return
    tip = _spinous_tip(loc, vp, h, lm.canal_depth_mm, half_voxel[1])
    if tip is not None:
        lm.spinous_process_tip_lps_mm = lm.point(*tip)

"""Estimates of what a CT does not show well, from the bone labels (and the CT where it helps):
the discs, the dural sac, the exiting and traversing nerve roots, the psoas and the peritoneal
cavity. Each is an *estimate* and carries an uncertainty in mm (how far the true structure's
surface may lie outside the estimate), measured on the synthetic patients (see
`UNCERTAINTY_MM`).

Anatomical models (each function says more):

- Discs (`disc_L4_L5`, ...): the space between the upper body's inferior and the lower body's
  superior rim planes (plus the 1-2 mm endplate concavity), inside the two bodies' footprint and
  bulging 1 mm behind their posterior walls, where the bone labels leave it free.
- Dural sac: a round tube centred in the bony canal (on the canal's midline, halfway between the
  pedicles' medial walls, and at mid-depth), per vertebra, with the
  radius the smallest of the population mean (about 7.2 mm: dural sac area 150-200 mm2 at L3-L4,
  Schonstrom N et al., Spine 1985;10(9):806-811), half the canal's midsagittal depth at the body's
  mid-height (`landmarks`) less the epidural fat (about 1 mm ventrally and dorsally),
  and half the interpedicular width less 2 mm (the lateral recesses hold the roots and fat); 7 %
  narrower at L5-S1 and tapering to its end at S2. The midline is the canal's, not the body
  centre's: a segmentation puts the body centre up to 0.7 mm to one side, and an estimated frame
  turned about its axis (bench patient 4's L4 from the CT, 1.7 degrees) moves the body's midline by
  0.6 mm at the canal, 20 mm behind it, while the medial walls are measured there (the canal's
  midline within 0.4 mm of the truth on the 10 bench patients, both sources; the body centre's
  within 0.7). The 10 bench patients: dural sac centre error, mean per patient, 0.31 -> 0.26 mm
  (true bone) and 0.32 -> 0.27 (CT); Kambin's inscribed circle, see the roots below.
- Nerve roots: root Ln leaves the sac at about the disc above Ln, runs down the lateral recess
  medial to the Ln pedicle (there it is the traversing root of level L(n-1)-Ln), turns under the
  pedicle into the upper part of the Ln-L(n+1) foramen, where its dorsal root ganglion lies (there
  it is the exiting root), and leaves antero-latero-inferiorly toward the psoas (Cohen MS et al.,
  Spine 1990;15(12):1248-1251; Hasegawa T et al., J Bone Joint Surg Am 1995;77(1):32-38). Radius
  2.6 mm and ganglion radius 3.6 mm (Cohen 1990). The S1 root leaves through the first anterior
  sacral foramen. A disc fragment seen on the CT first displaces the centreline as one piece, away
  from the centre of the fragment's disc (`displace_around`, as the phantom's fragments displace its
  roots); the centreline is then pushed 0.4 mm clear of the bone labels, the discs and the fragments.
  The take-off (and the recess, under the pedicle) is placed from the canal's midline, as the sac;
  it lies 1.5 mm inside the sac's nominal radius, L5 and S1 included: their sleeves leave the sac
  at the disc above, where the 7 % caudal narrowing has not yet begun. The 10 bench patients, both
  sources: Kambin's inscribed circle within 1 mm of the truth on all 200 sides (worst 0.88 mm from
  true bone, 0.96 from the CT; mean 0.28 and 0.26). With the fragment pushing each point out on its
  own (`push_out`) it was 199: patient 9's herniated L3-L4 from the CT (2 mm slices) came out 2.08
  mm off (now 0.53), because which face of the fragment a point leaves by turns on tenths of a
  millimetre of the fragment's outline. test_spine_model's herniated patient, its herniated side:
  0.41 mm from true bone, 0.23 from the CT.
- Psoas (`iliopsoas_left/right`): muscle-density voxels (15-85 HU after 1 mm smoothing) lateral to
  the lumbar bodies and connected to tissue touching their lateral surfaces.
- Peritoneal cavity: the region of the body in front of the retroperitoneum: anterior to a line
  28 mm in front of the vertebral bodies medially (over the great vessels and psoas), sweeping
  back to 35 mm behind the body centre laterally (the paracolic gutters lateral to the quadratus
  lumborum); below S1 it follows the sacrum's anterior surface; deeper than the subcutaneous
  fat (measured) plus 10 mm of abdominal wall muscle.
  A simple geometric model, deliberately generous.

Accuracy (measured on the phantom, whose neural anatomy follows the same published descriptions,
so these errors understate those on a real patient): see `UNCERTAINTY_MM` and
bench/bench_anatomy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from kambin.anatomy.body import body_mask
from kambin.anatomy.labels import disc_name, label_by_id, label_id, nerve_root_name
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks, pedicle_width_estimate_mm, vertebra_landmarks
from kambin.anatomy.neural_on_ct import (
    ROOT_RULE,
    SeenUncertainty,
    SmoothedCrop,
    TracedTube,
    paint_traced,
    trace_tube,
    untraced_tube,
)
from kambin.anatomy.tube import Tube, densify
from kambin.errors import InvalidInputError
from kambin.geometry.primitives import displace_around, push_out
from kambin.imaging.volume import Volume

#: Vertebrae in cranio-caudal order, the ones whose roots and discs are estimated.
ORDER = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")
#: Root radius and dorsal root ganglion radius (mm), Cohen 1990.
ROOT_RADIUS_MM = 2.6
DRG_RADIUS_MM = 3.6
#: Dural sac radius, population mean (mm), Schonstrom 1985; epidural fat between sac and canal wall.
DURAL_SAC_RADIUS_MM = 7.2
EPIDURAL_FAT_MM = 1.1
LATERAL_RECESS_MM = 2.0
ROOT_BONE_CLEARANCE_MM = 0.4
#: Abdominal wall muscle thickness (obliques and transversus, mm) inside the subcutaneous fat.
ABDOMINAL_WALL_MM = 10.0
#: How far (mm) the true structure may reach beyond the estimate where the CT does not show it:
#: the largest error measured plus about 0.5 mm, rounded up to 0.5 mm. Measured as the distance of
#: the true structure's voxels outside the estimate's (roots within 25 mm of their foramen, the sac
#: from L1 to S1) on 8 synthetic patients at 1 mm, from their CT segmented by `segment_spine`:
#: seeds 3 and 7 foraminal, 2 paracentral, 4 central herniation, 1 foraminal stenosis, 5 high iliac
#: crest (obese), 6 slim, 0 none. Largest: roots L1-L4 6.40 mm (seed 1, L4 right, stenosis; 5.48 from
#: the true bone labels), L5 1.73, sac 2.45, with the segmentation of mid-session (a one-off script;
#: `bench/run.py uncertainty` now measures the same, with the segmentation at the end of session 3:
#: roots L1-L4 3.61 from segmented and 5.39 from true bone, L5 4.12 and 3.74, all inside their
#: envelopes; the sac's painted label, roots painted over it, 3.74, hence 4.5).
#: S1 roots (as traversing roots) 6.19 from the true bone labels (earlier measurement).
#: Peritoneal cavity and bowel: 11.3 (voxels outside the estimate).
#: The disc (Dice 0.89) and psoas are not scored in mm; their values are nominal. These hold only
#: for correct bone labels (a misnamed or missing vertebra moves everything), and the phantom's
#: roots follow the same anatomical description as this estimate, so on a real patient the error
#: is larger. Where the CT shows a root, `seen_rule` applies instead.
ROOT_UNCERTAINTY_MM = {"L5": 4.5, "S1": 7.0}
UNCERTAINTY_MM = {
    "nerve_root": 7.0,
    "dural_sac": 4.5,
    "disc": 1.5,
    "iliopsoas": 5.0,
    "peritoneal_cavity": 12.0,
}


#: Where the CT shows the root or the sac (`neural_on_ct`): 2 mm on a seen section, growing per mm
#: along the centreline away from it, up to the estimate's own. For each class, the smallest rate
#: of (0.1, 0.15, 0.2, 0.3, 0.4) that keeps every true voxel of the same 8 patients inside the
#: widened labels, from segmented and from true bone, with a step of margin where one was needed:
#: roots L1-L4 0.4 (0.3 leaves the stenotic seed 1's L4 root one voxel out from true bone), L5
#: 0.2 (0.1 already holds). The sac is not traced (see `trace_neural`).
ROOT_SEEN = SeenUncertainty(seen_mm=2.0, per_mm=0.4)
L5_ROOT_SEEN = SeenUncertainty(seen_mm=2.0, per_mm=0.2)


def seen_rule(root: str) -> SeenUncertainty:
    """How the uncertainty of a root (nerve_root_L5_left, ...) grows from where the CT shows it."""
    return L5_ROOT_SEEN if root.split("_")[2] == "L5" else ROOT_SEEN


def root_uncertainty_mm(vertebra: str) -> float:
    """How far (mm) the true root named by `vertebra` may reach beyond its estimate."""
    return ROOT_UNCERTAINTY_MM.get(vertebra, UNCERTAINTY_MM["nerve_root"])


@dataclass
class DiscEstimate:
    """One disc from its endplates: centre, unit normal (cranial), mid-disc height, posterior margin."""

    level: str
    upper: str
    lower: str
    centre_lps_mm: np.ndarray
    normal_lps: np.ndarray
    height_mm: float
    posterior_margin_lps_mm: np.ndarray
    posterior_height_mm: float


@dataclass
class PlanningAnatomy:
    """The label map a planner needs, on the CT's grid.

    Attributes:
        labels: uint8/uint16 Volume on the CT grid: the input bone labels (vertebrae, sacrum, hips)
            plus the estimated discs, nerve roots, dural sac, psoas and peritoneal cavity, with
            registry ids.
        names: label id (string) -> registry name, for every id in `labels`.
        uncertainty_mm: registry name -> how far (mm) the true structure may reach beyond the
            estimate, for each estimated structure (0 or absent for the input bone labels).
        notes: what was estimated and how, one line each.
        vertebrae: the landmarks measured per vertebra (name -> VertebraLandmarks).
        discs: per level ("L4-L5") the disc estimate.
        dural_sac: the sac's tube; roots: registry root name -> its tube (traced on the CT where seen).
        uncertainty: float32 Volume on the CT grid: per voxel of an estimated structure, how far (mm)
            the true structure may reach beyond it there (0 elsewhere); `uncertainty_mm` is its
            largest value per structure.
        untraced: the sac's and the roots' anatomical estimates before tracing on the CT.
        seen_fraction: per traced structure, the share of its centreline seen on the CT.
    """

    labels: Volume
    names: dict[str, str]
    uncertainty_mm: dict[str, float]
    notes: list[str]
    vertebrae: dict[str, VertebraLandmarks] = field(default_factory=dict)
    discs: dict[str, DiscEstimate] = field(default_factory=dict)
    dural_sac: Tube | None = None
    roots: dict[str, Tube] = field(default_factory=dict)
    uncertainty: Volume | None = None
    untraced: dict[str, Tube] = field(default_factory=dict)
    seen_fraction: dict[str, float] = field(default_factory=dict)


# --- vertebrae -------------------------------------------------------------------------------


def bone_names(labels: Volume, names: dict[str, str] | None) -> dict[str, int]:
    """Registry name -> id of the labels present (names from the sidecar, or the registry)."""
    present = [int(i) for i in np.unique(np.asarray(labels.voxels)) if i != 0]
    if names is None:
        out = {}
        for i in present:
            try:
                out[label_by_id(i).name] = i
            except InvalidInputError:
                continue
        return out
    by_id = {int(k): v for k, v in names.items()}
    return {by_id[i]: i for i in present if i in by_id}


def measure_vertebrae(
    labels: Volume, ids: dict[str, int], notes: list[str] | None = None
) -> dict[str, VertebraLandmarks]:
    """Landmarks of every labelled vertebra T10-S1 (S1 from `sacrum` when S1 is not labelled apart).
    A vertebra whose label is too incomplete to measure is left out, with a line in `notes`.

    Raises:
        InvalidInputError: the label map has no measurable vertebra T10-S1.
    """
    out = {}
    for name in ORDER:
        key = f"vertebrae_{name}"
        if key not in ids and not (name == "S1" and "sacrum" in ids):
            continue
        try:
            label = ids[key] if key in ids else ids["sacrum"]
            out[name] = vertebra_landmarks(labels, label, name, is_sacral=name == "S1")
        except InvalidInputError as error:
            if notes is not None:
                notes.append(f"{name} left out: {error}")
    if not out:
        raise InvalidInputError(
            "the label map has no vertebra T10-S1 (registry names vertebrae_L1 ... vertebrae_S1); "
            "run `kambin segment` or give a label map with vertebrae"
        )
    return out


def adjacent_pairs(vertebrae: dict[str, VertebraLandmarks]) -> list[tuple[str, str]]:
    names = [n for n in ORDER if n in vertebrae]
    return [(a, b) for a, b in zip(names[:-1], names[1:], strict=False) if ORDER.index(b) == ORDER.index(a) + 1]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def estimate_disc(upper: VertebraLandmarks, lower: VertebraLandmarks) -> DiscEstimate:
    """The disc between two bodies: centre midway between the facing rim-plane centres, normal the
    bisector of their normals, height between the planes along it; posterior margin 1 mm behind
    the mean posterior wall (the annulus bulges slightly beyond the bodies)."""
    a, b = upper.inferior_endplate_centre_lps_mm, lower.superior_endplate_centre_lps_mm
    normal = _unit(-upper.inferior_endplate_normal_lps + lower.superior_endplate_normal_lps)
    centre = 0.5 * (a + b)
    height = float((a - b) @ normal)
    posterior = _unit(upper.axes_lps[:, 1] + lower.axes_lps[:, 1])
    posterior = _unit(posterior - (posterior @ normal) * normal)
    v_post = 0.5 * (
        (upper.point(0, upper.posterior_wall_v_mm, 0) - centre) @ posterior
        + (lower.point(0, lower.posterior_wall_v_mm, 0) - centre) @ posterior
    )
    margin = centre + posterior * (v_post + 1.0)
    # posterior height: between the two rim planes, 1 mm in front of the margin
    p = centre + posterior * v_post
    t_up = ((a - p) @ upper.inferior_endplate_normal_lps) / (normal @ upper.inferior_endplate_normal_lps)
    t_lo = ((b - p) @ lower.superior_endplate_normal_lps) / (normal @ lower.superior_endplate_normal_lps)
    level = f"{upper.name}-{lower.name}"
    return DiscEstimate(level, upper.name, lower.name, centre, normal, height, margin, float(t_up - t_lo))


def _grid_points(volume: Volume, lo_ijk: np.ndarray, hi_ijk: np.ndarray) -> tuple[tuple[slice, ...], np.ndarray]:
    lo = np.clip(np.floor(lo_ijk).astype(int), 0, np.asarray(volume.shape_ijk) - 1)
    hi = np.clip(np.ceil(hi_ijk).astype(int) + 1, lo + 1, np.asarray(volume.shape_ijk))
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    ii, jj, kk = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
    pts = volume.ijk_to_lps(np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]).astype(np.float64))
    return box, pts


def _box_around(volume: Volume, points_lps_mm: np.ndarray, margin_mm: float) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(points_lps_mm, dtype=np.float64)
    corners = np.array(
        [
            [x, y, z]
            for x in (p[:, 0].min() - margin_mm, p[:, 0].max() + margin_mm)
            for y in (p[:, 1].min() - margin_mm, p[:, 1].max() + margin_mm)
            for z in (p[:, 2].min() - margin_mm, p[:, 2].max() + margin_mm)
        ]
    )
    ijk = volume.lps_to_ijk(corners)
    return ijk.min(axis=0), ijk.max(axis=0)


def paint_disc(
    out: np.ndarray,
    grid: Volume,
    bone: np.ndarray,
    disc: DiscEstimate,
    upper: VertebraLandmarks,
    lower: VertebraLandmarks,
    value: int,
) -> None:
    """Label the disc: between the two rim planes (plus 1.5 mm of endplate concavity), inside the
    bodies' outline (superellipse of their mean half-width and half-depth, +0.7 mm) and in front of
    the posterior margin, where no bone is labelled."""
    a = 0.5 * (upper.body_half_width_mm + lower.body_half_width_mm) + 0.7
    b = 0.5 * (upper.body_half_depth_mm + lower.body_half_depth_mm) + 0.7
    r = max(a, b) + disc.height_mm
    lo, hi = _box_around(grid, np.array([disc.centre_lps_mm]), r)
    box, pts = _grid_points(grid, lo, hi)
    posterior = _unit(disc.posterior_margin_lps_mm - disc.centre_lps_mm)
    lateral = np.cross(disc.normal_lps, posterior)
    rel = pts - disc.centre_lps_mm
    u, v = rel @ lateral, rel @ posterior
    vc = 0.5 * (
        (upper.body_centre_lps_mm - disc.centre_lps_mm) @ posterior
        + (lower.body_centre_lps_mm - disc.centre_lps_mm) @ posterior
    )
    inside = (np.abs(u) / a) ** 2.6 + (np.abs(v - vc) / b) ** 2.6 <= 1.0
    inside &= v <= (disc.posterior_margin_lps_mm - disc.centre_lps_mm) @ posterior
    # the rim planes' normals point away from their bodies: in the disc both distances are >= -concavity
    d_up = (pts - upper.inferior_endplate_centre_lps_mm) @ upper.inferior_endplate_normal_lps
    d_lo = (pts - lower.superior_endplate_centre_lps_mm) @ lower.superior_endplate_normal_lps
    inside &= (d_up >= -1.5) & (d_lo >= -1.5)
    mask = inside.reshape(tuple(s.stop - s.start for s in box))
    region = out[box]
    region[mask & ~bone[box] & (region == 0)] = value


# --- sac and roots ---------------------------------------------------------------------------


def catmull_rom(control: np.ndarray, radii: np.ndarray, step_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A uniform Catmull-Rom spline through the control points, resampled every `step_mm`; radii
    interpolated along arc length between the control points."""
    control = np.asarray(control, dtype=np.float64)
    padded = np.vstack([2 * control[0] - control[1], control, 2 * control[-1] - control[-2]])
    out, rad = [], []
    for n in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[n - 1], padded[n], padded[n + 1], padded[n + 2]
        for t in np.linspace(0.0, 1.0, 12, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
            )
            rad.append(radii[n - 1] + t * (radii[n] - radii[n - 1]))
    out.append(control[-1])
    rad.append(radii[-1])
    return densify(np.array(out), np.array(rad), step_mm)


def sac_centre_local(vert: VertebraLandmarks, take_off: bool = False) -> tuple[float, float]:
    """(v, radius) of the dural sac in a vertebra's frame: mid-canal, fitting the canal (module docstring).

    `take_off`: the radius where the vertebra's root leaves the sac, at the disc above, before the
    sac's caudal narrowing at L5 and S1.
    """
    depth = vert.canal_depth_mm if np.isfinite(vert.canal_depth_mm) else 15.0
    width = vert.canal_width_mm if np.isfinite(vert.canal_width_mm) else 23.0
    v_c = vert.posterior_wall_v_mm + depth / 2 - 0.3
    r = min(
        DURAL_SAC_RADIUS_MM * (0.93 if vert.name in ("L5", "S1") and not take_off else 1.0),
        depth / 2 - EPIDURAL_FAT_MM,
        width / 2 - LATERAL_RECESS_MM,
    )
    return v_c, max(r, 2.0)


def estimate_dural_sac(vertebrae: dict[str, VertebraLandmarks]) -> Tube:
    """The dural sac as a round tube through the canals of the labelled vertebrae (module docstring)."""
    names = [n for n in ORDER if n in vertebrae and n in ("T12", "L1", "L2", "L3", "L4", "L5", "S1")] or list(vertebrae)
    control, radii = [], []
    top = vertebrae[names[0]]
    v_c, r = sac_centre_local(top)
    control.append(top.point(top.canal_centre_u_mm, v_c, top.body_height_mm / 2 + 20.0))
    radii.append(r)
    for name in names:
        vert = vertebrae[name]
        v_c, r = sac_centre_local(vert)
        h, u_c = vert.body_height_mm, vert.canal_centre_u_mm
        if name == "S1":
            control += [
                vert.point(u_c, v_c, h / 2),
                vert.point(u_c, v_c + 0.5, -h / 2 - 6.0),
                vert.point(u_c, v_c + 1.0, -h / 2 - 14.0),
            ]
            radii += [r * 0.85, r * 0.45, 1.2]
        else:
            control += [vert.point(u_c, v_c, h / 2), vert.point(u_c, v_c, -h / 2)]
            radii += [r, r]
    pts, rad = catmull_rom(np.array(control), np.array(radii), 2.0)
    return Tube("dural_sac", pts, rad)


def root_control_points(
    vertebrae: dict[str, VertebraLandmarks], name: str, side: str, sac: Tube, discs: dict[str, DiscEstimate]
) -> tuple[np.ndarray, np.ndarray]:
    """Control points (LPS) and radii of root `name` on `side`, from the sac to the psoas (Cohen 1990)."""
    vert = vertebrae[name]
    s = SIDES[side]
    r, g = ROOT_RADIUS_MM, DRG_RADIUS_MM
    i = ORDER.index(name)
    above = ORDER[i - 1] if i > 0 else None
    disc_above = discs.get(f"{above}-{name}")
    disc_h = disc_above.height_mm if disc_above is not None else 9.0
    v_c, r_sac = sac_centre_local(vert, take_off=True)
    pw = (vert.canal_width_mm if np.isfinite(vert.canal_width_mm) else 23.0) / 2
    vp, h = vert.posterior_wall_v_mm, vert.body_height_mm
    ped_u = vert.pedicle_u_mm.get(side, pw + 5.0)
    ped_bottom = vert.pedicle_bottom_w_mm.get(side, h / 2 - 16.0)
    ped_w = pedicle_width_estimate_mm(vert)
    c = vert.canal_centre_u_mm  # the canal's midline (the sac's centre), the medial walls at c +- pw
    local = [
        (c + s * (r_sac - 1.5), v_c + 0.5, h / 2 + 0.75 * disc_h),  # take-off from the sac, at the disc above
        (c + s * (pw - r - 0.8), vp + r + 1.2, h / 2 - 4.0),  # lateral recess, medial to the pedicle
        (c + s * (pw + 0.3), vp + r + 1.6, ped_bottom - r - 0.9),  # turning under the pedicle
    ]
    radii = [r, r, r]
    if name == "S1":
        b = vert.body_half_depth_mm
        local += [
            (c + s * (pw + 4.0), vp - 6.0, ped_bottom - 6.0),  # into the first anterior sacral foramen
            (c + s * (pw + 8.0), -b + 3.0, -h / 2 - 10.0),
            (c + s * (pw + 14.0), -b - 10.0, -h / 2 - 22.0),
        ]
        radii += [r, r, r]
    else:
        local += [
            (s * (ped_u + 1.0), vp + 4.6, ped_bottom - g - 1.0),  # ganglion under the pedicle, upper foramen
            (s * (ped_u + ped_w / 2 + 4.0), vp - 0.5, ped_bottom - g - 11.0),  # leaving antero-latero-inferiorly
            (s * (ped_u + ped_w / 2 + 16.0), vp - 8.0, ped_bottom - 30.0),
        ]
        radii += [g, r * 1.05, r * 1.1]
    return vert.points(np.array(local)), np.array(radii)


def _signed_bone_distance(grid: Volume, bone: np.ndarray, lo_ijk, hi_ijk):
    lo = np.clip(np.floor(lo_ijk).astype(int), 0, np.asarray(grid.shape_ijk) - 1)
    hi = np.clip(np.ceil(hi_ijk).astype(int) + 1, lo + 1, np.asarray(grid.shape_ijk))
    crop = bone[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    sp = grid.spacing_mm
    if crop.any():
        sd = ndimage.distance_transform_edt(~crop, sampling=sp) - ndimage.distance_transform_edt(crop, sampling=sp)
        # a label's surface lies half a voxel beyond its voxel centres (as in `landmarks`): without
        # this the roots kept 0.4 mm from the voxel centres, about 0.1 mm inside the bone's surface.
        # Calibration seeds 40-47 (true bone): exiting root centreline within 15 mm of the foramen 0.36 ->
        # 0.32 mm (mean), Kambin's inscribed circle L5-S1 max 3.40 -> 2.85 mm (L1-L5 0.90 -> 0.82)
        sd -= np.sign(sd) * 0.5 * float(np.mean(sp))
    else:
        sd = np.full(crop.shape, 1e3)

    def fn(p: np.ndarray) -> np.ndarray:
        ijk = grid.lps_to_ijk(p) - lo
        return ndimage.map_coordinates(sd, ijk.T, order=1, mode="nearest")

    return fn


def estimate_root(
    grid: Volume,
    bone: np.ndarray,
    vertebrae: dict[str, VertebraLandmarks],
    name: str,
    side: str,
    sac: Tube,
    discs: dict[str, DiscEstimate],
    fragments: list[tuple[np.ndarray, np.ndarray]] = (),
) -> Tube:
    """The root's course (`root_control_points`), displaced as a piece by each disc fragment seen
    (its mask and its disc's centre: `displace_around`, as the phantom's fragments displace its
    roots), then kept clear of `bone` (any obstacle mask) point by point."""
    control, radii = root_control_points(vertebrae, name, side, sac, discs)
    pts, rad = catmull_rom(control, radii, 1.5)
    lo, hi = _box_around(grid, pts, 12.0)
    for fragment, disc_centre in fragments:
        fragment_distance = _signed_bone_distance(grid, fragment, lo, hi)
        pts = displace_around(pts, rad, fragment_distance, ROOT_BONE_CLEARANCE_MM, disc_centre)
    distance = _signed_bone_distance(grid, bone, lo, hi)
    movable = np.ones(len(pts), bool)
    movable[:1] = False
    pts = push_out(pts, rad, distance, ROOT_BONE_CLEARANCE_MM, movable, eps=0.5)
    return Tube(nerve_root_name(name, side), pts, rad)


def paint_tube(out: np.ndarray, grid: Volume, tube: Tube, value: int, protect: np.ndarray) -> None:
    """Label the voxels whose centre lies inside the tube, where `protect` is False."""
    lo, hi = _box_around(grid, tube.points_lps_mm, float(tube.radii_mm.max()) + 1.0)
    box, pts = _grid_points(grid, lo, hi)
    inside = (tube.distance_mm(pts) <= 0).reshape(tuple(s.stop - s.start for s in box))
    region = out[box]
    region[inside & ~protect[box]] = value


# --- psoas and peritoneum --------------------------------------------------------------------


def _lumbar(vertebrae: dict[str, VertebraLandmarks]) -> list[VertebraLandmarks]:
    return [vertebrae[n] for n in ORDER if n in vertebrae and n != "S1"]


def paint_psoas(out: np.ndarray, ct: Volume, bone: np.ndarray, vertebrae: dict[str, VertebraLandmarks]) -> None:
    """Psoas: muscle-density tissue beside the lumbar bodies (module docstring)."""
    lumbar = [v for v in _lumbar(vertebrae) if v.name in ("L1", "L2", "L3", "L4", "L5")]
    if not lumbar:
        return
    centres = np.array([v.body_centre_lps_mm for v in lumbar])
    lo, hi = _box_around(ct, centres, 70.0)
    box, pts = _grid_points(ct, lo, hi)
    shape = tuple(s.stop - s.start for s in box)
    hu = ndimage.gaussian_filter(np.asarray(ct.voxels[box], dtype=np.float32), 1.0 / ct.spacing_mm)
    muscle = (hu > 15) & (hu < 85) & ~bone[box] & (out[box] == 0)
    z = pts[:, 2]
    order = np.argsort(centres[:, 2])
    zc = centres[order, 2]

    def interp(values):
        return np.interp(z, zc, np.asarray(values)[order])

    cx, cy = interp(centres[:, 0]), interp(centres[:, 1])
    a = interp([v.body_half_width_mm for v in lumbar])
    b = interp([v.body_half_depth_mm for v in lumbar])
    z_ok = (z > zc[0] - 25.0) & (z < zc[-1] + 20.0)
    for side, s in SIDES.items():
        lat = s * (pts[:, 0] - cx)
        region = z_ok & (lat > a - 10.0) & (lat < a + 55.0) & (pts[:, 1] > cy - b - 35.0) & (pts[:, 1] < cy + b)
        cand = muscle & region.reshape(shape)
        lab, n = ndimage.label(cand)
        if n == 0:
            continue
        seed = (region & (lat < a + 12.0) & (np.abs(pts[:, 1] - cy) < b)).reshape(shape)
        keep = np.unique(lab[seed & cand])
        keep = keep[keep > 0]
        if not len(keep):
            continue
        sizes = np.bincount(lab.ravel())
        keep = keep[sizes[keep] > 500]
        psoas = np.isin(lab, keep)
        psoas = ndimage.binary_closing(psoas, iterations=2) & region.reshape(shape) & ~bone[box]
        sub = out[box]
        sub[psoas & (sub == 0)] = label_id(f"iliopsoas_{side}")


def paint_peritoneum(
    out: np.ndarray,
    ct: Volume,
    body: np.ndarray,
    vertebrae: dict[str, VertebraLandmarks],
    sacrum: np.ndarray | None = None,
) -> None:
    """Peritoneal cavity: a generous geometric model in front of the retroperitoneum (module docstring)."""
    verts = [vertebrae[n] for n in ORDER if n in vertebrae]
    z_c = np.array([v.body_centre_lps_mm[2] for v in verts])
    y_c = np.array([v.body_centre_lps_mm[1] for v in verts])
    x_c = np.array([v.body_centre_lps_mm[0] for v in verts])
    y_f = np.array([v.point(0, -v.body_half_depth_mm, 0)[1] for v in verts])
    if "S1" in vertebrae and sacrum is not None and sacrum.any():
        # below S1 the boundary follows the sacrum's anterior surface (the pelvic cavity lies in front
        # of it): per axial slice, the most anterior sacral bone within 15 mm of the midline
        s1 = vertebrae["S1"]
        ijk = np.argwhere(sacrum)
        pts = ct.ijk_to_lps(ijk.astype(np.float64))
        pts = pts[np.abs(pts[:, 0] - s1.body_centre_lps_mm[0]) < 15.0]
        pts = pts[pts[:, 2] < s1.body_centre_lps_mm[2] - 10.0]
        if len(pts):
            zk = np.round(pts[:, 2] / 5.0) * 5.0
            rows = [(z, pts[zk == z, 1].min()) for z in np.unique(zk)]
            extra_z = np.array([r[0] for r in rows])
            extra_f = np.array([r[1] for r in rows])
            z_c = np.concatenate([z_c, extra_z])
            y_f = np.concatenate([y_f, extra_f])
            y_c = np.concatenate([y_c, extra_f + s1.body_half_depth_mm])
            x_c = np.concatenate([x_c, np.full(len(rows), s1.body_centre_lps_mm[0])])
    order = np.argsort(z_c)
    shape = ct.shape_ijk
    direction = ct.direction_lps
    if not np.allclose(np.abs(direction), np.eye(3), atol=1e-3):
        # oblique grids: evaluate per voxel (slower, rare for CT)
        ii = np.argwhere(body)
        pts = ct.ijk_to_lps(ii.astype(np.float64))
        keep = _cavity(pts, z_c[order], y_c[order], y_f[order], x_c[order])
        sel = ii[keep]
        sub = out[tuple(sel.T)]
        out[tuple(sel.T)] = np.where(sub == 0, label_id("peritoneal_cavity"), sub)
        return
    # axis-aligned grid: per-axis coordinates
    axes = [ct.ijk_to_lps(np.outer(np.arange(n), np.eye(3)[a]))[:, a] for a, n in enumerate(shape)]
    x, y, z = np.meshgrid(*axes, indexing="ij", sparse=True)
    zz = np.clip(z, z_c.min() - 60.0, z_c.max() + 60.0)
    yc = np.interp(zz, z_c[order], y_c[order])
    yf = np.interp(zz, z_c[order], y_f[order])
    xc = np.interp(zz, z_c[order], x_c[order])
    ax = np.abs(x - xc)
    t = np.clip((ax - 45.0) / 80.0, 0.0, 1.0)
    smooth = t * t * (3 - 2 * t)
    boundary = (yf - 28.0) + ((yc + 35.0) - (yf - 28.0)) * smooth
    cavity = (y < boundary) & body
    # inside the abdominal wall: deeper than the subcutaneous fat plus 10 mm of wall muscle
    depth = coarse_depth_mm(body, ct.spacing_mm)
    cavity &= depth > subcutaneous_fat_mm(ct, body, depth) + ABDOMINAL_WALL_MM
    out[cavity & (out == 0)] = label_id("peritoneal_cavity")


def coarse_depth_mm(mask: np.ndarray, spacing_mm: np.ndarray, step_mm: float = 2.0) -> np.ndarray:
    """Distance (mm) from each voxel of `mask` to its outside, computed on a ~2 mm grid (fast)."""
    f = [max(1, int(round(step_mm / s))) for s in spacing_mm]
    small = mask[:: f[0], :: f[1], :: f[2]]
    d = ndimage.distance_transform_edt(small, sampling=np.asarray(spacing_mm) * f).astype(np.float32)
    idx = np.ix_(*[np.minimum(np.arange(n) // fa, m - 1) for n, fa, m in zip(mask.shape, f, small.shape, strict=True)])
    return d[idx] * mask


def subcutaneous_fat_mm(ct: Volume, body: np.ndarray, depth: np.ndarray) -> float:
    """Depth (mm) of the shallowest muscle under the skin, away from the spine: the subcutaneous fat
    (with the skin). 5th percentile of the depth of muscle-density voxels 3-120 mm deep."""
    step = tuple(max(1, int(round(4.0 / s))) for s in ct.spacing_mm)
    hu = np.asarray(ct.voxels[:: step[0], :: step[1], :: step[2]], dtype=np.float32)
    d = depth[:: step[0], :: step[1], :: step[2]]
    muscle = (hu > 20) & (hu < 90) & (d > 3.0) & (d < 120.0)
    if not muscle.any():
        return 0.0
    return float(np.percentile(d[muscle], 5))


def _cavity(pts, z_c, y_c, y_f, x_c):
    yc = np.interp(pts[:, 2], z_c, y_c)
    yf = np.interp(pts[:, 2], z_c, y_f)
    xc = np.interp(pts[:, 2], z_c, x_c)
    t = np.clip((np.abs(pts[:, 0] - xc) - 45.0) / 80.0, 0.0, 1.0)
    boundary = (yf - 28.0) + ((yc + 35.0) - (yf - 28.0)) * t * t * (3 - 2 * t)
    return pts[:, 1] < boundary


# --- the planning interface ------------------------------------------------------------------


def paint_herniations(
    out: np.ndarray, ct: Volume, bone: np.ndarray, discs: dict[str, DiscEstimate], notes: list[str]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label the disc herniations seen on the CT (`anatomy.herniation`) where nothing else is; each
    fragment's mask and its disc's centre (LPS mm)."""
    from kambin.anatomy.herniation import find_herniations

    found = find_herniations(
        ct,
        out,
        bone,
        {
            level: (label_id(disc_name(d.upper, d.lower)), d.centre_lps_mm, d.posterior_margin_lps_mm, d.normal_lps)
            for level, d in discs.items()
        },
    )
    mask = np.zeros(out.shape, dtype=bool)
    for herniation in found:
        mask[tuple(herniation.mask_ijk.T)] = True
        notes.append(
            f"disc herniation seen on the CT at {herniation.level} ({herniation.side}, "
            f"{herniation.volume_mm3:.0f} mm3): disc-density tissue outside the disc space; the roots and the "
            "dural sac are estimated around it"
        )
    if not found:
        notes.append("no disc herniation seen on the CT")
    disc_ids = [label_id(disc_name(d.upper, d.lower)) for d in discs.values()]
    mask &= (out == 0) | np.isin(out, disc_ids)  # a fragment the disc estimate bulged into is a fragment
    out[mask] = label_id("disc_herniation")
    fragments = []
    for herniation in found:
        own = np.zeros(out.shape, dtype=bool)
        own[tuple(herniation.mask_ijk.T)] = True
        fragments.append((own & mask, discs[herniation.level].centre_lps_mm))
    return fragments


def compress_sac(sac: Tube, grid: Volume, herniation: np.ndarray) -> Tube:
    """A herniation indents the dural sac: where the tube overlaps it, the radius shrinks (by at most
    40 %) and the centreline moves away until 0.3 mm clear, as the sac is pushed in a real canal."""
    if not herniation.any():
        return sac
    lo, hi = _box_around(grid, sac.points_lps_mm, float(sac.radii_mm.max()) + 12.0)
    distance = _signed_bone_distance(grid, herniation, lo, hi)
    radii = np.asarray(sac.radii_mm, dtype=float).copy()
    overlap = distance(sac.points_lps_mm) - radii - 0.3
    radii -= np.clip(-overlap, 0.0, 0.4 * radii)
    points = push_out(sac.points_lps_mm, radii, distance, 0.3, eps=0.5)
    return Tube(sac.name, points, radii)


def estimate_planning_labels(
    ct: Volume, vertebra_labels: Volume, names: dict[str, str] | None = None
) -> PlanningAnatomy:
    """The planner's label map from a CT and its bone labels: the input labels plus estimated discs,
    nerve roots, dural sac, psoas and peritoneal cavity (registry ids), with per-structure
    uncertainties (mm) and notes.

    Args:
        ct: the CT (HU), the grid of everything returned.
        vertebra_labels: bone labels on the CT's grid (registry ids, e.g. `kambin segment`'s output;
            other structures in it are kept).
        names: label id (string) -> registry name (a sidecar); the registry's ids when None.

    Raises:
        InvalidInputError: the labels are not on the CT's grid, or hold no vertebra T10-S1.
    """
    anatomy, _ = estimate_with_body(ct, vertebra_labels, names)
    return anatomy


def estimate_with_body(
    ct: Volume, vertebra_labels: Volume, names: dict[str, str] | None = None
) -> tuple[PlanningAnatomy, np.ndarray]:
    """`estimate_planning_labels` and the body mask it computed (for the skin), in one pass."""
    if not vertebra_labels.same_grid(ct):
        raise InvalidInputError(
            f"the label map's grid (shape {vertebra_labels.shape_ijk}) is not the CT's (shape {ct.shape_ijk}); "
            "resample the labels onto the CT first"
        )
    ids = bone_names(vertebra_labels, names)
    notes: list[str] = []
    vertebrae = measure_vertebrae(vertebra_labels, ids, notes)
    src = np.asarray(vertebra_labels.voxels)
    # translate the input to registry ids
    out = np.zeros(src.shape, dtype=np.uint8)
    for name, i in ids.items():
        out[src == i] = label_id(name)
    bone_ids = [
        label_id(n)
        for n in ids
        if n.startswith("vertebrae_")
        or n in ("sacrum",)
        or n.startswith("hip_")
        or n.startswith("rib_")
        or n == "facet_hypertrophy"
    ]
    bone = np.isin(out, bone_ids)
    discs = {}
    for a, b in adjacent_pairs(vertebrae):
        disc = estimate_disc(vertebrae[a], vertebrae[b])
        discs[disc.level] = disc
        paint_disc(out, vertebra_labels, bone, disc, vertebrae[a], vertebrae[b], label_id(disc_name(a, b)))
    notes.append(
        f"discs {', '.join(discs) or 'none'}: between the facing endplate rim planes, inside the bodies' outline"
    )
    # Herniations seen on the CT (disc-density tissue outside the disc space): labelled, and the sac and
    # roots estimated around them, since a fragment displaces them (as the phantom's lesions do).
    fragments = paint_herniations(out, ct, bone, discs, notes)
    herniation = np.zeros(out.shape, dtype=bool)
    for fragment, _ in fragments:
        herniation |= fragment
    sac = compress_sac(estimate_dural_sac(vertebrae), vertebra_labels, herniation)
    # roots keep clear of bone, of the discs (they run over the annulus, not through it) and of herniations
    obstacle = bone | np.isin(out, [label_id(disc_name(*d.split("-"))) for d in discs]) | herniation
    roots = {}
    for name in vertebrae:
        if name not in ("T12", "L1", "L2", "L3", "L4", "L5", "S1"):
            continue
        for side in SIDES:
            roots[nerve_root_name(name, side)] = estimate_root(
                vertebra_labels, obstacle, vertebrae, name, side, sac, discs, fragments
            )
    notes.append("dural sac: a round tube centred in the bony canal, radius from the canal size (Schonstrom 1985)")
    notes.append(
        f"nerve roots {', '.join(sorted({n.split('_')[2] for n in roots}))}: the course described by Cohen 1990 and "
        "Hasegawa 1995 (lateral recess, under the pedicle, ganglion in the upper foramen), from the pedicles"
    )
    body = body_mask(ct)
    sacral_ids = [label_id(n) for n in ("vertebrae_S1", "sacrum")]
    paint_peritoneum(out, ct, body, vertebrae, np.isin(out, sacral_ids))
    notes.append(
        "peritoneal cavity: geometric model, 28 mm in front of the bodies medially, 35 mm behind their centre laterally"
    )
    paint_psoas(out, ct, bone, vertebrae)
    notes.append("psoas: muscle-density tissue (15-85 HU) beside the lumbar bodies")
    # The sac as estimated; the roots where the CT shows them (fat around them), the estimates
    # elsewhere; painted over the soft tissue estimates, never over bone or a herniation.
    voxel_u = np.zeros(out.shape, np.float32)
    protect = bone | herniation
    traced = trace_neural(ct, bone, sac, roots)
    for tube in traced.values():
        if tube.name == "dural_sac":
            sample_u = np.full(len(tube.points_lps_mm), UNCERTAINTY_MM["dural_sac"])
        else:
            sample_u = tube.uncertainty_mm(seen_rule(tube.name), root_uncertainty_mm(tube.name.split("_")[2]))
        paint_traced(out, voxel_u, vertebra_labels, tube, label_id(tube.name), sample_u, protect)
    seen = {n: t.seen_fraction for n, t in traced.items()}
    notes.append(
        "nerve roots seen on the CT (fat around them), share of the centreline: "
        + ", ".join(f"{n.split('_', 2)[2].replace('_', ' ')} {f:.0%}" for n, f in seen.items() if n != "dural_sac")
    )
    present = [int(i) for i in np.unique(out) if i != 0]
    names_out = {str(i): label_by_id(i).name for i in present}
    uncertainty = {}
    for i in present:
        n = label_by_id(i).name
        if n.startswith("nerve_root_") or n == "dural_sac":
            uncertainty[n] = round(float(voxel_u[out == i].max()), 2)
            continue
        if n.startswith("disc_"):
            uncertainty[n] = UNCERTAINTY_MM["disc"]
        elif n.startswith("iliopsoas_"):
            uncertainty[n] = UNCERTAINTY_MM["iliopsoas"]
        elif n == "peritoneal_cavity":
            uncertainty[n] = UNCERTAINTY_MM["peritoneal_cavity"]
        else:
            continue
        voxel_u[out == i] = uncertainty[n]
    notes.append(
        "uncertainties: largest errors measured on synthetic patients (bench/bench_anatomy.py), see UNCERTAINTY_MM, "
        "and seen_rule"
    )
    anatomy = PlanningAnatomy(
        labels=vertebra_labels.with_voxels(out, modality="SEG"),
        names=names_out,
        uncertainty_mm=uncertainty,
        notes=notes,
        vertebrae=vertebrae,
        discs=discs,
        dural_sac=Tube("dural_sac", traced["dural_sac"].points_lps_mm, traced["dural_sac"].radii_mm),
        roots={name: Tube(name, traced[name].points_lps_mm, traced[name].radii_mm) for name in roots},
        uncertainty=vertebra_labels.with_voxels(voxel_u, modality="unknown"),
        untraced={"dural_sac": sac, **roots},
        seen_fraction=seen,
    )
    return anatomy, body


def trace_neural(ct: Volume, bone: np.ndarray, sac: Tube, roots: dict[str, Tube]) -> dict[str, TracedTube]:
    """Each root traced on the CT (`neural_on_ct`), over one smoothed crop; the sac kept as estimated.

    The sac is not traced: on the 8 calibration patients its traced label reached up to 3.6 mm from
    the true sac (the estimate alone 3.2) and left 81 true voxels outside a 2 mm envelope
    (bench/run.py uncertainty, before this was switched off), so the estimate with its own
    uncertainty is the better of the two.
    """
    tubes = list(roots.values())
    low = np.min([t.points_lps_mm.min(axis=0) for t in tubes], axis=0) - 20.0
    high = np.max([t.points_lps_mm.max(axis=0) for t in tubes], axis=0) + 20.0
    crop = SmoothedCrop(ct, bone, low, high)
    traced = {"dural_sac": untraced_tube("dural_sac", sac.points_lps_mm, sac.radii_mm)}
    traced.update({t.name: trace_tube(crop, t.name, t.points_lps_mm, t.radii_mm, ROOT_RULE) for t in tubes})
    return traced

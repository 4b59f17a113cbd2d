"""`make_patient`: the synthetic lumbar patient (anatomy, CT, label map, ground truth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.anatomy.labels import label_id, nerve_root_name
from kambin.errors import InvalidInputError
from kambin.geometry.primitives import displace_around, push_out
from kambin.imaging.grid import restore
from kambin.imaging.volume import Volume
from kambin.phantom import ct as ctmod
from kambin.phantom import measure
from kambin.phantom.canal import canal_paints
from kambin.phantom.contrast import check_phase, enhance
from kambin.phantom.implants import METAL_HU, screws_and_rods
from kambin.phantom.listhesis import slip
from kambin.phantom.morphometry import (
    HABITUS,
    LUMBAR,
    MOTION_LEVELS,
    RIB_BEARING,
    Morphometry,
    fractured,
    osteoporotic,
    sample_morphometry,
    with_thoracic,
)
from kambin.phantom.neural import ROOT_VERTEBRAE, build_cauda_equina, build_dural_sac, build_root, build_spinal_cord
from kambin.phantom.osteophytes import MODES as OSTEOPHYTE_MODES
from kambin.phantom.osteophytes import osteophyte_shapes
from kambin.phantom.pathology import (
    Lesion,
    PathologySpec,
    adjust_morphometry,
    facet_osteophyte,
    herniation,
    high_crest_raise_mm,
)
from kambin.phantom.pelvis import Ilium, build_ilia
from kambin.phantom.profile import spine_profile
from kambin.phantom.raster import Grid, Painter
from kambin.phantom.ribs import rib
from kambin.phantom.scoliosis import bend
from kambin.phantom.shapes import FunctionShape, Tube
from kambin.phantom.soft_tissue import (
    T_BONE,
    T_CANCELLOUS,
    T_FLUID,
    T_SOFT,
    BodyOutline,
    Paint,
    body_layers,
    kidneys,
    muscles,
    peritoneum_and_bowel,
    upper_organs,
    vessels,
)
from kambin.phantom.spine import SIDES, Spine, build_spine
from kambin.phantom.truth import (
    DiscTruth,
    DuralSacTruth,
    HerniationTruth,
    IliacCrestTruth,
    LevelSideTruth,
    LevelTruth,
    PathologyTruth,
    PatientTruth,
    PedicleTruth,
    VertebraTruth,
)

MAX_VOXELS = 150_000_000
#: Storage orders of the CT and label map (`imaging.grid.restore`: new axis n is painted axis
#: permutation[n], reversed where flipped); the painted grid is axial, i, j, k along L, P, S.
STORAGE = {
    "axial": ((0, 1, 2), (False, False, False)),
    "sagittal": ((1, 2, 0), (False, True, False)),
    "coronal": ((0, 2, 1), (False, True, False)),
}
ROOT_CLEARANCE_MM = 0.4


@dataclass
class Patient:
    """A synthetic patient: `ct` (int16 HU) and `labels` (uint8 registry ids) on one LPS grid,
    the `truth`, and the analytic anatomy it was drawn from (for tests and later stages)."""

    seed: int
    ct: Volume
    labels: Volume
    truth: PatientTruth
    morphometry: Morphometry
    spine: Spine
    dural_sac: Tube
    roots: dict[tuple[str, str], Tube]
    ilia: dict[str, Ilium]
    lesions: list[Lesion]
    pathology: PathologySpec

    def label_sidecar(self) -> dict[str, str]:
        from kambin.anatomy.labels import sidecar

        return sidecar([int(i) for i in np.unique(self.labels.voxels)])

    def bone_sdf(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to the nearest bone of the analytic anatomy at points (N, 3)."""
        p = np.atleast_2d(np.asarray(points_lps_mm, dtype=np.float64))
        d = np.full(len(p), np.inf)
        for vert in self.spine.vertebrae.values():
            d = np.minimum(d, vert.sdf(p[:, 0], p[:, 1], p[:, 2])[0])
        for ilium in self.ilia.values():
            d = np.minimum(d, ilium.sdf(p[:, 0], p[:, 1], p[:, 2]))
        for lesion in self.lesions:
            if lesion.label == "facet_hypertrophy":
                d = np.minimum(d, lesion.sdf_points(p))
        return d


def _check_spacing(spacing_mm) -> np.ndarray:
    try:
        spacing = np.asarray([float(s) for s in spacing_mm], dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"spacing must be three numbers in mm (x y z), not {spacing_mm!r}") from None
    if spacing.shape != (3,) or not np.all(np.isfinite(spacing)) or np.any(spacing < 0.3) or np.any(spacing > 5.0):
        raise InvalidInputError(f"spacing must be three numbers between 0.3 and 5.0 mm, not {list(spacing_mm)}")
    return spacing


def make_patient(
    seed: int = 0,
    *,
    pathology: str = "none",
    level: str | None = None,
    side: str = "left",
    migration: str = "none",
    severity: float = 1.0,
    habitus: str = "average",
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0),
    noise: bool = True,
    streaks: bool = False,
    contrast: str = "none",
    storage: str = "axial",
    thoracic: bool = False,
    rib_pairs: int = 12,
    sacralised_l5: bool = False,
    osteoporosis: bool = False,
    fracture: str | None = None,
    screws: tuple[str, ...] = (),
    scoliosis: float = 0.0,
    spondylolisthesis: str | None = None,
    slip_percent: float = 25.0,
    osteophytes: str = "none",
) -> Patient:
    """Build a seeded synthetic lumbar patient; the same arguments give identical arrays.

    Args:
        seed: non-negative integer; another seed gives another patient (dimensions, alignment,
            bowel, texture and noise).
        pathology: one of `pathology.PATHOLOGIES`; placed at `level` (default L4-L5, L5-S1 for
            the high iliac crest) on `side` ("left" or "right"); `migration` ("none", "cranial",
            "caudal") moves a herniated fragment; `severity` (0.25-2) scales it.
        habitus: "slim", "average" or "obese" (fat thickness, body size, noise).
        spacing_mm: voxel spacing (x, y, z) in mm, 0.3 to 5.0; the field of view is fixed in mm.
        noise, streaks: CT noise (on by default) and beam-hardening streaks (off by default).
        contrast: intravenous contrast, "none", "arterial" or "venous" (`phantom.contrast`): the
            aorta, the iliac vessels, the vena cava and the kidneys enhanced into bone's HU range.
        storage: how the voxels are stored (`STORAGE`): "axial" (i, j, k along L, P, S), "sagittal"
            (P, I, L, as a sagittal series: rows down the patient, slices across) or "coronal" (L, I,
            P); the same voxels at the same LPS positions, only the order differs.
        thoracic: T11 and T12 above L1 in the field of view, with the lowest ribs (`phantom.ribs`);
            their dimensions come from their own stream of the seed, so L1-S1 are those of the same
            seed without. The thoracic canal holds epidural fat only (no sac or cord is modelled
            above L1).
        rib_pairs: with `thoracic`, 12 (ribs on T11 and T12), 11 (none on T12) or 13 (a lumbar
            rib on L1). A CT of T11 to the sacrum with 11 rib pairs looks the same as one of a
            patient with six lumbar vertebrae (T12 then bears the last ribs and is labelled T11
            here): the two cannot be told apart in this field of view, and the naming must not
            guess.
        sacralised_l5: L5 fused with the sacrum: the L5-S1 disc space is bone (labelled as the
            disc's place, `disc_L5_S1`, in the label map), so L5 and S1 read as one sacral piece
            that meets the ilia, as in a sacralised L5 (Castellvi type IV; Castellvi AE et al.,
            Spine 9(5), 1984, without the fused transverse processes). Counting from that piece
            would name every level one too high.
        osteoporosis: trabecular bone near 80 HU and a cortex 40 % thinner
            (`morphometry.osteoporotic`).
        fracture: a vertebra (L1-L5; T11 or T12 with `thoracic`) with a wedge compression fracture,
            half its anterior height lost (`morphometry.fractured`).
        screws: vertebrae (L1-L5) with bilateral titanium pedicle screws, joined by a rod on each
            side when there are two or more (`phantom.implants`), labelled `metal`.
        scoliosis: the Cobb angle (degrees, up to 40) of a lumbar C-curve convex to the patient's
            left (negative: to the right), with axial rotation (`phantom.scoliosis`).
        spondylolisthesis: a vertebra (L1-L5; T11 or T12 with `thoracic`) slipped forward over the
            one below by `slip_percent` (0-50: Meyerding grades 1 and 2) of that one's endplate
            depth, its arch left behind at a pars defect (isthmic; `phantom.listhesis`).
        osteophytes: "none", "spurs" (marginal osteophytes in front of and beside every disc) or
            "bridging" (the spurs also fused into bony bridges across two discs; `phantom.osteophytes`).

    Raises:
        InvalidInputError: a bad seed, option or spacing (the message says what is allowed).
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, not {seed!r}")
    if habitus not in HABITUS:
        raise InvalidInputError(f"habitus must be one of {', '.join(HABITUS)}, not {habitus!r}")
    spacing = _check_spacing(spacing_mm)
    check_phase(contrast)
    if storage not in STORAGE:
        raise InvalidInputError(f"storage must be one of {', '.join(STORAGE)}, not {storage!r}")
    if rib_pairs not in RIB_BEARING:
        raise InvalidInputError(f"rib_pairs must be one of {', '.join(map(str, RIB_BEARING))}, not {rib_pairs!r}")
    if osteophytes not in OSTEOPHYTE_MODES:
        raise InvalidInputError(f"osteophytes must be one of {', '.join(OSTEOPHYTE_MODES)}, not {osteophytes!r}")
    if rib_pairs != 12 and not thoracic:
        raise InvalidInputError("rib_pairs needs thoracic=True (the ribs lie above a lumbar field of view)")
    spec = PathologySpec.make(pathology, level, side, migration, severity)
    morph = sample_morphometry(int(seed), habitus)
    if thoracic:
        morph = with_thoracic(morph, rib_pairs)
    if fracture is not None:
        breakable = [v for v in morph.vertebrae if v != "S1"]
        if fracture not in breakable:
            raise InvalidInputError(f"fracture must be one of {', '.join(breakable)}, not {fracture!r}")
        morph = fractured(morph, fracture)
    if osteoporosis:
        morph = osteoporotic(morph)
    screws = tuple(screws)
    if any(v not in LUMBAR for v in screws) or len(set(screws)) != len(screws):
        raise InvalidInputError(f"screws must be distinct lumbar vertebrae ({', '.join(LUMBAR)}), not {screws!r}")
    morph = adjust_morphometry(morph, spec)
    rng = np.random.default_rng([int(seed), 303])
    spine = build_spine(morph)
    if spondylolisthesis is not None:
        slip(spine, spondylolisthesis, float(slip_percent))
    if scoliosis:
        bend(spine, abs(float(scoliosis)), "left" if scoliosis > 0 else "right")
    sac = build_dural_sac(spine, morph)
    lesions: list[Lesion] = []
    if spec.zone:
        lesions.append(herniation(spine, spec))
    if spec.kind == "foraminal-stenosis":
        lesions.append(facet_osteophyte(spine, spec))
    sac = _compress_sac(sac, lesions)
    roots = {
        (name, side_): _pushed_root(spine, sac, name, side_, morph, lesions)
        for name in ROOT_VERTEBRAE
        for side_ in SIDES
    }
    spine.vertebrae["S1"].carve_tubes = (roots[("S1", "left")], roots[("S1", "right")])
    profile = spine_profile(spine)
    disc45 = spine.discs["L4-L5"].frame.origin_lps_mm
    crest_z = float(disc45[2] + np.clip(rng.normal(0.0, 4.0), -8, 8) + high_crest_raise_mm(spec))
    # Field of view: T12-L1 (T10-T11 with the thoracic option) to mid sacrum, the whole body width.
    top = spine.vertebrae["T11" if thoracic else "L1"]
    z_hi = float(top.frame.point(0, 0, top.h / 2)[2] + 28.0)
    z_lo = float(spine.vertebrae["S1"].frame.point(0, 0, spine.vertebrae["S1"].h / 2)[2] - 78.0)
    outline = BodyOutline(
        profile, morph.body_semi_axes_mm[0], morph.body_semi_axes_mm[1], morph.fat_thickness_mm, crest_z
    )
    lo, hi = outline.bbox(z_lo, z_hi)
    lo = np.array([lo[0] - 12.0, lo[1] - 12.0, z_lo])
    hi = np.array([hi[0] + 12.0, hi[1] + 30.0, z_hi])
    shape = tuple(int(n) for n in np.floor((hi - lo) / spacing) + 1)
    if int(np.prod(shape)) > MAX_VOXELS:
        raise InvalidInputError(
            f"spacing {spacing.tolist()} mm gives {int(np.prod(shape)):,} voxels (more than {MAX_VOXELS:,}); "
            "use a coarser spacing"
        )
    grid = Grid(lo, spacing, shape)
    ilia = build_ilia(spine, morph.scale, crest_z, z_lo - 5.0)
    painter = Painter(grid)
    _paint_table(painter, outline, z_lo, z_hi)
    paints: list[Paint] = []
    paints += body_layers(outline, z_lo, z_hi)
    bowel, _ = peritoneum_and_bowel(spine, profile, outline, morph, z_lo, z_hi, rng)
    paints += bowel
    paints += enhance(upper_organs(spine, outline, morph, z_hi), contrast)
    paints += enhance(kidneys(spine, morph) + vessels(spine, z_lo, z_hi), contrast)
    paints += muscles(spine, profile, outline, morph, z_lo, z_hi, crest_z)
    paints += _iliacus(ilia)
    paints += canal_paints(spine)
    voxel = float(np.cbrt(np.prod(spacing)))
    for level_, disc in spine.discs.items():
        upper, lower = level_.split("-")
        shape = FunctionShape(f"disc_{upper}_{lower}", *disc.bbox_lps(), disc.sdf)
        if sacralised_l5 and level_ == "L5-S1":  # the disc space ossified: L5's body fused with S1's
            paints.append(Paint(shape, shape.name, _bone_hu_fn(voxel, 1.0, morph.cancellous_hu), T_CANCELLOUS))
        else:
            paints.append(Paint(shape, shape.name, _disc_hu(disc), T_SOFT))
    for lesion in lesions:
        if lesion.label == "disc_herniation":
            paints.append(Paint(lesion.shape, lesion.label, 88.0, T_SOFT))
    if osteophytes != "none":  # before the vertebrae, which keep their own bone where the spurs reach in
        spur_hu = _bone_hu_fn(voxel, 1.2, morph.cancellous_hu + 150.0)
        for spur in osteophyte_shapes(spine, osteophytes, np.random.default_rng([int(seed), 707])):
            paints.append(Paint(spur, spur.name, spur_hu, T_CANCELLOUS))
    for name, vert in spine.vertebrae.items():
        carve = roots[("S1", "left")], roots[("S1", "right")]
        if name == "S1":
            paints.append(
                Paint(_VertebraShape(vert, voxel, morph, carve, part="S1"), "vertebrae_S1", None, T_CANCELLOUS)
            )
            paints.append(Paint(_VertebraShape(vert, voxel, morph, carve, part="sacrum"), "sacrum", None, T_CANCELLOUS))
        else:
            paints.append(Paint(_VertebraShape(vert, voxel, morph, ()), vert.label, None, T_CANCELLOUS))
    for side_, ilium in ilia.items():
        paints.append(Paint(_IliumShape(ilium, voxel), f"hip_{side_}", None, T_CANCELLOUS))
    for tube in screws_and_rods(spine, screws):
        paints.append(Paint(tube, tube.name, METAL_HU, T_BONE))
    for number, (name, length_mm) in enumerate(morph.extras.get("rib_length_mm", {}).items(), start=11):
        for side_ in SIDES:
            tube = rib(spine.vertebrae[name], side_, length_mm, f"rib_{side_}_{number}")
            paints.append(Paint(tube, tube.name, _bone_hu_fn(voxel, 1.2, morph.cancellous_hu), T_CANCELLOUS))
    for lesion in lesions:
        if lesion.label == "facet_hypertrophy":
            paints.append(
                Paint(
                    lesion.shape,
                    lesion.label,
                    _bone_hu_fn(voxel, 1.5, morph.cancellous_hu + 80),
                    T_CANCELLOUS,
                )
            )
    paints.append(Paint(sac, "dural_sac", ctmod.HU_TABLE["csf"], T_FLUID))
    paints.append(Paint(build_spinal_cord(spine, sac), "spinal_cord", 34.0, T_SOFT))
    for strand in build_cauda_equina(spine, sac, roots):
        paints.append(Paint(strand, "cauda_equina", 30.0, T_SOFT))
    for (name, side_), root in roots.items():
        paints.append(Paint(root, nerve_root_name(name, side_), ctmod.HU_TABLE["nerve"], T_SOFT))
    for p in paints:
        hu = p.hu if p.hu is not None else p.shape.hu
        painter.paint(p.shape, p.label, hu, p.tissue, p.overwrite)
    centre_ij = tuple(((spine.vertebrae["L3"].frame.origin_lps_mm[:2] - lo[:2]) / spacing[:2]).tolist())
    hu_int = ctmod.finish_ct(
        painter.hu,
        painter.tissue,
        spacing,
        int(seed),
        morph.noise_sd_hu,
        streaks=streaks,
        noise=noise,
        spine_xy_index=centre_ij,
    )
    del painter.hu
    ct = Volume.from_geometry(
        hu_int,
        tuple(spacing),
        tuple(lo),
        modality="CT",
        source="kambin.phantom",
        metadata={"seed": int(seed), "pathology": spec.kind},
    )
    labels = Volume.from_geometry(painter.labels, tuple(spacing), tuple(lo), modality="SEG", source="kambin.phantom")
    truth = _truth(seed, morph, spine, sac, roots, ilia, lesions, spec, ct)
    if storage != "axial":
        ct, labels = (restore(volume, *STORAGE[storage]) for volume in (ct, labels))
    return Patient(int(seed), ct, labels, truth, morph, spine, sac, roots, ilia, lesions, spec)


#: The built-in patient of the demo, the simulated operating room and the tests that plan it. Its
#: fragment displaces the exiting root as a piece, backward and outward over Kambin's triangle
#: (`displace_around`): of seeds 0-7 with this herniation (1.5 mm), only seed 4's true anatomy keeps
#: a safe path for the 7 mm cannula (the others' closest paths need 3.9 to 5.7 mm), so the demo shows
#: a case that can be done, and its plan on the CT alone beside it.
DEMO_SEED, DEMO_PATHOLOGY, DEMO_LEVEL, DEMO_SIDE = 4, "foraminal-herniation", "L4-L5", "left"


def make_demo_patient(spacing_mm: float = 1.0) -> Patient:
    """The built-in patient (`DEMO_SEED`: a left L4-L5 foraminal herniation) on an isotropic grid."""
    return make_patient(
        DEMO_SEED, pathology=DEMO_PATHOLOGY, level=DEMO_LEVEL, side=DEMO_SIDE, spacing_mm=(spacing_mm,) * 3
    )


# --- painting helpers ---------------------------------------------------------------------


def _paint_table(painter: Painter, outline: BodyOutline, z_lo: float, z_hi: float) -> None:
    """The CT table under the supine patient: a carbon-fibre plate on a foam pad."""
    back = float(
        outline.params(np.array([0.5 * (z_lo + z_hi)]))[0][0] + outline.params(np.array([0.5 * (z_lo + z_hi)]))[2][0]
    )
    y0 = back + 4.0

    def plate(x, y, z):
        curve = y0 + 4.0 - 0.0004 * x * x
        return np.maximum(np.abs(y - curve - 6.0) - 5.0, np.abs(x) - 210.0 + 0 * z)

    lo = np.array([-215.0, y0 - 30.0, z_lo - 1])
    hi = np.array([215.0, y0 + 20.0, z_hi + 1])
    painter.paint(
        FunctionShape("table", lo, hi, plate),
        None,
        lambda x, y, z, d: np.where(d > -1.2, 380.0, -350.0).astype(np.float32),
        0,
    )


def _disc_hu(disc):
    def hu(x, y, z, d):
        return (ctmod.HU_TABLE["disc_annulus"] - 20.0 * disc.nucleus_weight(x, y, z)).astype(np.float32)

    return hu


def _bone_hu_fn(voxel_mm: float, thickness: float, cancellous: float):
    def hu(x, y, z, d):
        return ctmod.bone_hu(d, thickness, voxel_mm, cancellous)

    return hu


class _VertebraShape:
    def __init__(self, vert, voxel_mm, morph, carve_tubes, part: str = "all"):
        self.vert, self.voxel, self.morph, self.carve, self.part = vert, voxel_mm, morph, carve_tubes, part

    def bbox_lps(self):
        return self.vert.bbox_lps()

    def _sdf(self, x, y, z):
        d, body = self.vert.sdf(x, y, z)
        if self.part != "all":
            _, _, w = self.vert.frame.to_local(x, y, z)
            cut = w + self.vert.h / 2 + 3.0
            d = np.maximum(d, -cut) if self.part == "S1" else np.maximum(d, cut)
        return d, body

    def evaluate(self, xs, ys, zs):
        d, _ = self._sdf(xs[:, None, None], ys[None, :, None], zs[None, None, :])
        return np.broadcast_to(d, (len(xs), len(ys), len(zs)))

    def hu(self, x, y, z, d):
        _, body = self.vert.sdf(x, y, z)
        in_body = body <= d + 0.4
        thickness = np.where(in_body, 0.7, 2.2) * self.morph.extras.get("cortex_factor", 1.0)
        canc = np.where(in_body, self.morph.cancellous_hu, self.morph.cancellous_hu + 150.0)
        if self.vert.is_sacrum:
            canc = canc - 30.0
        out = ctmod.bone_hu(d, thickness, self.voxel, 0.0) + canc * _core_fraction(d, thickness, self.voxel)
        u, v, w = self.vert.frame.to_local(x, y, z)
        vein = (
            (np.abs(u) < 2.2)
            & (v > 0.25 * self.vert.b)
            & (v < self.vert.v_posterior_wall)
            & (np.abs(w) < 1.8)
            & in_body
        )
        out = np.where(vein, 45.0, out)
        return out.astype(np.float32)


def _core_fraction(d, thickness, voxel):
    lo, hi = d - voxel / 2, d + voxel / 2
    outside = np.clip(hi, 0, None) - np.clip(lo, 0, None)
    cortex = np.clip(np.minimum(hi, 0) - np.maximum(lo, -thickness), 0, None)
    return (voxel - outside - cortex) / voxel


class _IliumShape:
    def __init__(self, ilium: Ilium, voxel):
        self.ilium, self.voxel = ilium, voxel
        self._shape = ilium.shape("hip")

    def bbox_lps(self):
        return self._shape.bbox_lps()

    def evaluate(self, xs, ys, zs):
        return self._shape.evaluate(xs, ys, zs)

    def hu(self, x, y, z, d):
        return ctmod.bone_hu(d, 1.4, self.voxel, 190.0)


def _iliacus(ilia: dict[str, Ilium]) -> list[Paint]:
    """Iliacus: a 14 mm layer on the inner (medial) surface of each iliac wing."""
    paints = []
    for side, ilium in ilia.items():

        def fn(x, y, z, il=ilium):
            xm = il.s * x
            dx, dy = xm - il.centre[0], y - il.centre[1]
            r = np.sqrt(dx * dx + dy * dy)
            d = np.maximum(r - il.radius + 2.0, il.radius - 16.0 - r)
            return np.maximum(d, np.maximum(z - (il.crest_top_z_mm - 22.0), y - il.points_xy[0][1] + 25.0))

        lo, hi = ilium.shape("x").bbox_lps()
        paints.append(Paint(FunctionShape(f"iliopsoas_{side}", lo, hi, fn), f"iliopsoas_{side}", 45.0, 2))
    return paints


# --- roots, sac and lesions --------------------------------------------------------------


def _obstacle(spine: Spine, names: list[str], levels: list[str], lesions: list[Lesion]):
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


def _pushed_root(spine, sac, name, side, morph, lesions) -> Tube:
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
    obstacle = _obstacle(spine, neighbours, levels, lesions)
    movable = np.ones(len(pts), bool)
    if not lesions:
        movable[:1] = False  # the take-off stays on the sac unless a lesion pushes it
    pts = push_out(pts, root.radii_mm, obstacle, ROOT_CLEARANCE_MM, movable)
    return Tube(root.name, pts, root.radii_mm)


def _compress_sac(sac: Tube, lesions: list[Lesion]) -> Tube:
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


# --- truth -----------------------------------------------------------------------------------


def _l(p) -> list[float]:
    return [round(float(v), 4) for v in np.asarray(p).ravel()]


def _truth(seed, morph, spine: Spine, sac: Tube, roots, ilia, lesions, spec, ct: Volume) -> PatientTruth:
    vertebrae = {}
    for name, vert in spine.vertebrae.items():
        f = vert.frame
        half_w = vert.dims.body_wedge_rad / 2
        pedicles = {}
        sap_tips, spinous_tip = measure.process_tips(vert)
        sap = {side: _l(p) for side, p in sap_tips.items()}
        for side, s in SIDES.items():
            p0, p1 = vert.pedicle_axis(s)
            axis = f.direction(*(p1 - p0))
            centre = f.point(s * vert.pedicle_u, vert.pedicle_v_isthmus, vert.pedicle_w)
            pedicles[side] = PedicleTruth(
                centre_lps_mm=_l(centre),
                axis_lps=_l(axis),
                entry_lps_mm=_l(f.points(p1[None])[0]),
                width_mm=vert.dims.pedicle_width_mm,
                height_mm=vert.dims.pedicle_height_mm,
                transverse_angle_deg=float(np.degrees(vert.dims.pedicle_angle_rad)),
            )
        tip = None if spinous_tip is None else _l(spinous_tip)
        top_n = f.direction(0.0, np.sin(half_w), np.cos(half_w))
        bottom_n = f.direction(0.0, -np.sin(half_w), np.cos(half_w))
        vertebrae[name] = VertebraTruth(
            name=name,
            label_id=label_id("sacrum" if False else vert.label),
            body_centre_lps_mm=_l(f.origin_lps_mm),
            superior_endplate_centre_lps_mm=_l(f.point(0, 0, vert.h / 2)),
            superior_endplate_normal_lps=_l(top_n),
            inferior_endplate_centre_lps_mm=_l(f.point(0, 0, -vert.h / 2)),
            inferior_endplate_normal_lps=_l(bottom_n),
            endplate_concavity_mm=vert.endplate_concavity_mm,
            body_width_mm=vert.dims.body_width_mm,
            body_depth_mm=vert.dims.body_depth_mm,
            body_height_mm=vert.h,
            canal_width_mm=vert.dims.canal_width_mm,
            canal_depth_mm=vert.dims.canal_depth_mm,
            pedicles=pedicles,
            superior_articular_process_tip_lps_mm=sap,
            spinous_process_tip_lps_mm=tip,
        )
    bone_fns = {}
    levels = {}
    for level in MOTION_LEVELS:  # the lumbar levels (no roots or sac are modelled above L1)
        disc = spine.discs[level]
        upper, lower = spine.upper_lower(level)
        bone = _obstacle(
            spine, [upper.dims.name, lower.dims.name], [], [les for les in lesions if les.label == "facet_hypertrophy"]
        )
        soft = _obstacle(spine, [], [level], [les for les in lesions if les.label == "disc_herniation"])
        bone_fns[level] = bone
        sides = {}
        for side in SIDES:
            ex = roots[(upper.dims.name, side)]
            tr = roots[(lower.dims.name, side)]
            tri = measure.kambin_triangle(spine, level, side, ex, tr, sac)
            fo = measure.foramen(spine, level, side, bone, soft)
            joint = spine.joints[(level, side)]
            g = int(np.argmax(ex.radii_mm))
            sides[side] = LevelSideTruth(
                kambin_triangle_lps_mm=[_l(p) for p in tri["vertices_lps_mm"]],
                kambin_triangle_base_mm=tri["base_mm"],
                kambin_triangle_height_mm=tri["height_mm"],
                kambin_triangle_inscribed_diameter_mm=tri["inscribed_diameter_mm"],
                exiting_root=ex.name,
                exiting_root_centerline_lps_mm=[_l(p) for p in ex.points_lps_mm],
                exiting_root_radius_mm=float(ex.radii_mm.max()),
                exiting_root_radii_mm=[round(float(r), 4) for r in ex.radii_mm],
                exiting_root_ganglion_lps_mm=_l(ex.points_lps_mm[g]),
                traversing_root=tr.name,
                traversing_root_centerline_lps_mm=[_l(p) for p in tr.points_lps_mm],
                traversing_root_radius_mm=float(tr.radii_mm.max()),
                traversing_root_radii_mm=[round(float(r), 4) for r in tr.radii_mm],
                foramen_centre_lps_mm=_l(fo["centre_lps_mm"]),
                foramen_height_mm=fo["height_mm"],
                foramen_width_mm=fo["width_mm"],
                foramen_area_mm2=fo["area_mm2"],
                facet_joint_centre_lps_mm=_l(joint.frame.origin_lps_mm),
                facet_angle_deg=float(np.degrees(morph.segments[level].facet_angle_rad)),
            )
        a, b = disc.semi_axes_mm
        disc_truth = DiscTruth(
            label_id=label_id(f"disc_{upper.dims.name}_{lower.dims.name}"),
            centre_lps_mm=_l(disc.frame.origin_lps_mm),
            normal_lps=_l(disc.frame.axes_lps[:, 2]),
            height_mm=disc.height_at(0.0),
            anterior_height_mm=disc.height_at(-b + 2.0),
            posterior_height_mm=disc.height_at(disc.v_posterior_mm - 1.0),
            posterior_margin_lps_mm=_l(disc.frame.point(0.0, disc.v_posterior_mm, 0.0)),
            lordosis_deg=float(np.degrees(disc.lordosis_rad)),
        )
        levels[level] = LevelTruth(left=sides["left"], right=sides["right"], disc=disc_truth)
    hern = next((les for les in lesions if les.label == "disc_herniation"), None)
    hern_truth = None
    if hern is not None:
        hern_truth = HerniationTruth(centroid_lps_mm=_l(hern.centroid_lps_mm), volume_mm3=_volume(hern), **hern.info)
    details = {}
    if spec.kind == "foraminal-stenosis":
        ost = next(les for les in lesions if les.label == "facet_hypertrophy")
        details = {
            "osteophyte_centroid_lps_mm": _l(ost.centroid_lps_mm),
            "disc_height_loss_fraction": min(0.45 * spec.severity, 0.7),
        }
    if spec.kind == "high-iliac-crest":
        details = {"crest_raised_mm": high_crest_raise_mm(spec)}
    disc_ls = spine.discs["L5-S1"].frame.origin_lps_mm
    crest = {side: _l(il.crest_top_lps_mm()) for side, il in ilia.items()}
    return PatientTruth(
        seed=int(seed),
        habitus=morph.habitus,
        spacing_mm=_l(ct.spacing_mm),
        shape_ijk=list(ct.shape_ijk),
        voxel_to_lps=[[float(v) for v in row] for row in ct.voxel_to_lps],
        levels=levels,
        vertebrae=vertebrae,
        dural_sac=DuralSacTruth(
            centerline_lps_mm=[_l(p) for p in sac.points_lps_mm], radius_mm=[round(float(r), 4) for r in sac.radii_mm]
        ),
        herniation=hern_truth,
        pathology=PathologyTruth(
            kind=spec.kind,
            level=None if spec.kind == "none" else spec.level,
            side=None if spec.kind in ("none",) else spec.side,
            migration=spec.migration,
            severity=spec.severity,
            details=details,
        ),
        iliac_crest=IliacCrestTruth(
            top_lps_mm=crest, top_above_l5_s1_disc_mm=float(max(c[2] for c in crest.values()) - disc_ls[2])
        ),
        tissue_hu={**ctmod.HU_TABLE, "cancellous_bone": morph.cancellous_hu, "noise_sd": morph.noise_sd_hu},
        morphometry=_morph_dict(morph),
    )


def _volume(lesion: Lesion) -> float:
    lo, hi = lesion.shape.bbox_lps()
    step = 0.5
    axes = [np.arange(lo[a], hi[a], step) for a in range(3)]
    d = lesion.shape.evaluate(*[a.astype(np.float32) for a in axes])
    return float((d < 0).sum() * step**3)


def _morph_dict(morph: Morphometry) -> dict:
    out = {
        "scale": morph.scale,
        "sacral_slope_deg": float(np.degrees(morph.sacral_slope_rad)),
        "fat_thickness_mm": morph.fat_thickness_mm,
        "root_radius_mm": morph.root_radius_mm,
        "drg_radius_mm": morph.drg_radius_mm,
        "vertebrae": {},
        "segments": {},
    }
    for name, v in morph.vertebrae.items():
        out["vertebrae"][name] = {
            k: (float(np.degrees(val)) if k.endswith("_rad") else val) for k, val in vars(v).items() if k != "name"
        }
        out["vertebrae"][name] = {k.replace("_rad", "_deg"): val for k, val in out["vertebrae"][name].items()}
    for level, s in morph.segments.items():
        out["segments"][level] = {
            "disc_height_mm": s.disc_height_mm,
            "lordosis_deg": float(np.degrees(s.lordosis_rad)),
            "facet_angle_deg": float(np.degrees(s.facet_angle_rad)),
        }
    return out

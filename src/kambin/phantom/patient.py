"""`make_patient`: the synthetic lumbar patient (anatomy, CT, label map, ground truth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.anatomy.labels import nerve_root_name
from kambin.errors import InvalidInputError
from kambin.imaging.grid import restore
from kambin.imaging.volume import Volume
from kambin.phantom import ct as ctmod
from kambin.phantom.bone_paint import IliumShape, VertebraShape, bone_hu_fn, disc_hu
from kambin.phantom.canal import canal_paints
from kambin.phantom.contrast import check_phase, enhance
from kambin.phantom.implants import METAL_HU, screws_and_rods
from kambin.phantom.listhesis import slip
from kambin.phantom.morphometry import (
    HABITUS,
    LUMBAR,
    RIB_BEARING,
    Morphometry,
    fractured,
    osteoporotic,
    sample_morphometry,
    with_thoracic,
)
from kambin.phantom.neural import (
    ROOT_VERTEBRAE,
    build_cauda_equina,
    build_dural_sac,
    build_spinal_cord,
    compressed_sac,
    pushed_root,
)
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
from kambin.phantom.patient_truth import patient_truth
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
    PatientTruth,
)

MAX_VOXELS = 150_000_000
#: Storage orders of the CT and label map (`imaging.grid.restore`: new axis n is painted axis
#: permutation[n], reversed where flipped); the painted grid is axial, i, j, k along L, P, S.
STORAGE = {
    "axial": ((0, 1, 2), (False, False, False)),
    "sagittal": ((1, 2, 0), (False, True, False)),
    "coronal": ((0, 2, 1), (False, True, False)),
}


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
    osteophytes: tuple = ()  # the marginal spurs' shapes (`phantom.osteophytes`), bone of their vertebra

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
        for spur in self.osteophytes:
            d = np.minimum(d, spur.fn(p[:, 0], p[:, 1], p[:, 2]))
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
    sac = compressed_sac(sac, lesions)
    roots = {
        (name, side_): pushed_root(spine, sac, name, side_, morph, lesions)
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
            paints.append(Paint(shape, shape.name, bone_hu_fn(voxel, 1.0, morph.cancellous_hu), T_CANCELLOUS))
        else:
            paints.append(Paint(shape, shape.name, disc_hu(disc), T_SOFT))
    for lesion in lesions:
        if lesion.label == "disc_herniation":
            paints.append(Paint(lesion.shape, lesion.label, 88.0, T_SOFT))
    spurs = () if osteophytes == "none" else tuple(
        osteophyte_shapes(spine, osteophytes, np.random.default_rng([int(seed), 707]))
    )
    spur_hu = bone_hu_fn(voxel, 1.2, morph.cancellous_hu + 150.0)
    for spur in spurs:  # before the vertebrae, which keep their own bone where the spurs reach in
        paints.append(Paint(spur, spur.name, spur_hu, T_CANCELLOUS))
    for name, vert in spine.vertebrae.items():
        carve = roots[("S1", "left")], roots[("S1", "right")]
        if name == "S1":
            paints.append(
                Paint(VertebraShape(vert, voxel, morph, carve, part="S1"), "vertebrae_S1", None, T_CANCELLOUS)
            )
            paints.append(Paint(VertebraShape(vert, voxel, morph, carve, part="sacrum"), "sacrum", None, T_CANCELLOUS))
        else:
            paints.append(Paint(VertebraShape(vert, voxel, morph, ()), vert.label, None, T_CANCELLOUS))
    for side_, ilium in ilia.items():
        paints.append(Paint(IliumShape(ilium, voxel), f"hip_{side_}", None, T_CANCELLOUS))
    for tube in screws_and_rods(spine, screws):
        paints.append(Paint(tube, tube.name, METAL_HU, T_BONE))
    for number, (name, length_mm) in enumerate(morph.extras.get("rib_length_mm", {}).items(), start=11):
        for side_ in SIDES:
            tube = rib(spine.vertebrae[name], side_, length_mm, f"rib_{side_}_{number}")
            paints.append(Paint(tube, tube.name, bone_hu_fn(voxel, 1.2, morph.cancellous_hu), T_CANCELLOUS))
    for lesion in lesions:
        if lesion.label == "facet_hypertrophy":
            paints.append(
                Paint(
                    lesion.shape,
                    lesion.label,
                    bone_hu_fn(voxel, 1.5, morph.cancellous_hu + 80),
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
    truth = patient_truth(seed, morph, spine, sac, roots, ilia, lesions, spec, ct)
    if storage != "axial":
        ct, labels = (restore(volume, *STORAGE[storage]) for volume in (ct, labels))
    return Patient(int(seed), ct, labels, truth, morph, spine, sac, roots, ilia, lesions, spec, spurs)


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



"""Estimates of what a CT does not show well, from the bone labels (and the CT where it helps):
the discs, the dural sac, the exiting and traversing nerve roots, the psoas and the peritoneal
cavity. Each is an *estimate* and carries an uncertainty in mm (how far the true structure's
surface may lie outside the estimate), measured on the synthetic patients (see
`UNCERTAINTY_MM`).

Anatomical models (each module and function says more):

- Discs (`disc_L4_L5`, ...) and the disc herniations seen on the CT: `disc_estimates`.
- Dural sac and nerve roots: `neural_estimates`; each root then traced on the CT where it shows
  it (`trace_neural`, `neural_on_ct`).
- Psoas (`iliopsoas_left/right`) and peritoneal cavity: `retroperitoneum_estimates`.
- The vertebrae they are placed from: `labelled_vertebrae` (their landmarks: `landmarks`).

This module assembles them into the planner's label map (`estimate_planning_labels`), with the
uncertainty of each.

Accuracy (measured on the phantom, whose neural anatomy follows the same published descriptions,
so these errors understate those on a real patient): see `UNCERTAINTY_MM` and
bench/bench_anatomy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kambin.anatomy.body import body_mask
from kambin.anatomy.disc_estimates import DiscEstimate, estimate_disc, paint_disc, paint_herniations
from kambin.anatomy.labelled_vertebrae import adjacent_pairs, bone_names, measure_vertebrae
from kambin.anatomy.labels import disc_name, label_by_id, label_id, nerve_root_name
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks
from kambin.anatomy.neural_estimates import compress_sac, estimate_dural_sac, estimate_root
from kambin.anatomy.neural_on_ct import (
    ROOT_RULE,
    SeenUncertainty,
    SmoothedCrop,
    TracedTube,
    paint_traced,
    trace_tube,
    untraced_tube,
)
from kambin.anatomy.retroperitoneum_estimates import paint_peritoneum, paint_psoas
from kambin.anatomy.tube import Tube
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume

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


# --- the planning interface ------------------------------------------------------------------


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

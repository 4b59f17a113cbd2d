"""The demo: the most complete job kambin does today, on the built-in synthetic patient.

1. Build a synthetic patient with a left L4-L5 foraminal herniation and write its CT, label map,
   ground truth and preview.
2. Segment the vertebrae, sacrum and hip bones from the CT alone (`kambin segment`'s engine) and
   score them against the phantom's truth (Dice).
3. Estimate what the CT does not show (discs, nerve roots, dural sac, psoas, peritoneal boundary)
   from the segmented bone, each with its uncertainty.
4. Plan the safest path on that anatomy (the truth is not used), then check the plan against the
   phantom's true nerve root and dural sac.
5. Rehearse: AP and lateral simulated fluoroscopy with the cannula, and the endoscope's view of
   Kambin's triangle; then the plan report (HTML, pictures embedded).
6. For comparison, plan again on the phantom's true label map: what the roots and the dural sac
   seen exactly (as on an MRI registered to the CT) would allow; its own plan and report, beside
   the main ones, never in their place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kambin.atomic import staged_directory
from kambin.phantom.patient import DEMO_LEVEL, DEMO_PATHOLOGY, DEMO_SEED, DEMO_SIDE

STAGES = (
    "synthetic patient",
    "segmentation",
    "anatomy estimates",
    "plan",
    "rehearsal views",
    "report",
    "comparison on the true anatomy",
)


@dataclass
class DemoResult:
    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    facts: list[tuple[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(
    output_dir: str | Path, step: Callable[[str], None] = lambda name: None, spacing_mm: float = 1.0
) -> DemoResult:
    """Run the demo into a new or empty directory; `step(name)` is called as each stage starts.

    Everything is written to a temporary sibling directory renamed at the end: a failure leaves
    nothing half-written.
    """
    final = Path(output_dir)
    with staged_directory(final) as staging:
        result = _run(staging, step, spacing_mm)
    result.output_dir = final
    result.files = {key: final / path.relative_to(staging) for key, path in result.files.items()}
    return result


def _run(out: Path, step: Callable[[str], None], spacing_mm: float) -> DemoResult:
    from kambin.anatomy.label_io import write_label_map
    from kambin.anatomy.labels import label_by_id
    from kambin.anatomy.metrics import dice_per_label
    from kambin.anatomy.segmentation import segment_spine, write_segmentation
    from kambin.phantom import make_demo_patient
    from kambin.phantom.export import write_patient
    from kambin.planning.models import PlanRequest
    from kambin.planning.plan_file import write_plan
    from kambin.planning.planner import plan
    from kambin.render.views import endoscope_meshes, endoscope_view, fluoroscopy_view, write_image
    from kambin.report import write_report
    from kambin.workflows.plan_ct import planning_anatomy
    from kambin.workflows.validation import true_clearance_mm

    result = DemoResult(out)

    def timed(name: str):
        step(name)
        result.seconds[name] = time.perf_counter()
        return name

    def done(name: str) -> None:
        result.seconds[name] = round(time.perf_counter() - result.seconds[name], 1)

    name = timed("synthetic patient")
    patient = make_demo_patient(spacing_mm)
    patient_dir = write_patient(patient, out / "patient", preview=True)
    result.files.update(
        {
            "CT": patient_dir / "ct.nii.gz",
            "labels (truth)": patient_dir / "labels.nii.gz",
            "truth": patient_dir / "truth.json",
            "preview": patient_dir / "preview.png",
        }
    )
    result.facts.append(
        (
            "patient",
            f"seed {DEMO_SEED}, {DEMO_SIDE} {DEMO_LEVEL} {DEMO_PATHOLOGY}, "
            f"CT {' x '.join(map(str, patient.ct.shape_ijk))} at {spacing_mm:g} mm",
        )
    )
    done(name)

    name = timed("segmentation")
    segmentation = segment_spine(patient.ct)
    seg_path, _ = write_segmentation(segmentation, out / "segmentation.nii.gz")
    result.files["segmentation"] = seg_path
    scores = dice_per_label(segmentation.labels.voxels, patient.labels.voxels)
    found = set(np.unique(segmentation.labels.voxels).tolist()) - {0}
    dice = {label_by_id(i).name.removeprefix("vertebrae_"): s for i, s in sorted(scores.items()) if i in found}
    result.facts.append(
        (
            "segmentation",
            f"{', '.join(segmentation.vertebrae)} named from {segmentation.identification} "
            f"(confidence {segmentation.confidence:.2f}); Dice vs truth "
            + ", ".join(f"{k} {v:.2f}" for k, v in dice.items()),
        )
    )
    done(name)

    name = timed("anatomy estimates")
    anatomy = planning_anatomy(patient.ct, segmentation.labels)
    result.files["anatomy"], _ = write_label_map(anatomy.labels, anatomy.names, out / "anatomy.nii.gz")
    result.facts.append(
        (
            "estimated (not in the CT)",
            ", ".join(f"{k.replace('_', ' ')} +-{v:.1f} mm" for k, v in sorted(anatomy.uncertainty_mm.items())),
        )
    )
    done(name)

    name = timed("plan")
    request = PlanRequest(level=DEMO_LEVEL, side=DEMO_SIDE)
    planned = plan(patient.ct, anatomy.labels, request, anatomy.names, anatomy.uncertainty)
    planned = planned.model_copy(
        update={"inputs": {"ct": str(result.files["CT"].name), "labels": "anatomy.nii.gz (segmented + estimated)"}}
    )
    result.files["plan"] = write_plan(planned, out / "plan.json")
    result.facts.append(("plan source", "the CT alone: segmented bone, estimated roots and dural sac"))
    # The path shown: the safe plan, or with none, its nominal path (safe only if the estimated roots are
    # exact), or its closest path (what blocks the way), labelled as such everywhere; it is checked
    # against the phantom's true root and sac either way.
    shown, approach, label = planned.shown_path()
    if not planned.feasible:
        result.facts.append(("plan", "NO SAFE PATH: " + "; ".join(planned.reasons)))
    if shown is not None:
        true_root = true_clearance_mm(patient.truth, planned, "exiting_root", shown)
        true_sac = true_clearance_mm(patient.truth, planned, "dural_sac", shown)
        result.facts += [
            (f"{label}approach", f"{approach}, {planned.cannula_diameter_mm:g} mm cannula"),
            (
                f"{label}entry",
                f"{shown.entry_offset_from_midline_mm / 10:.1f} cm from the midline, "
                f"depth {shown.depth_mm / 10:.1f} cm",
            ),
            (
                f"{label}angles",
                f"{shown.axial_angle_deg:.1f} deg from horizontal, {shown.sagittal_angle_deg:+.1f} deg cranio-caudal",
            ),
            (
                f"{label}clearance to exiting root",
                f"planned {shown.clearances_mm['exiting_root'].clearance_mm:.1f} mm "
                f"(uncertainty {shown.clearances_mm['exiting_root'].uncertainty_mm:.1f} mm), "
                f"true {true_root:.1f} mm (limit 1 mm); dural sac true {true_sac:.1f} mm",
            ),
            (f"{label}foraminoplasty", f"{shown.foraminoplasty_mm3:.0f} mm3"),
        ]
    done(name)

    if shown is not None:
        name = timed("rehearsal views")
        path = (shown.entry_lps_mm, shown.target_lps_mm)
        for view in ("ap", "lateral"):
            image = fluoroscopy_view(patient.ct, view, path=path, cannula_diameter_mm=planned.cannula_diameter_mm)
            result.files[f"fluoroscopy {view.upper()}"] = write_image(image, out / f"fluoroscopy-{view}.png")
        meshes = endoscope_meshes(patient.ct, anatomy.labels)
        # The tip 5 mm before the docking point: the view of Kambin's triangle the surgeon docks into.
        image = endoscope_view(meshes, shown.entry_lps_mm, shown.target_lps_mm, at=max(shown.depth_mm - 5.0, 0.0))
        result.files["endoscope view"] = write_image(image, out / "endoscope-triangle.png")
        done(name)

    name = timed("report")
    result.files["report"] = write_report(planned, patient.ct, anatomy.labels, out / "report.html")
    done(name)

    name = timed("comparison on the true anatomy")
    ideal = plan(patient.ct, patient.labels, request).model_copy(
        update={"inputs": {"ct": str(result.files["CT"].name), "labels": "patient/labels.nii.gz (the phantom's truth)"}}
    )
    result.files["plan on the true anatomy"] = write_plan(ideal, out / "plan-true-anatomy.json")
    result.files["report on the true anatomy"] = write_report(
        ideal, patient.ct, patient.labels, out / "report-true-anatomy.html"
    )
    if ideal.feasible:
        summary = (
            f"safe {ideal.approach} path, {ideal.entry_offset_from_midline_mm / 10:.1f} cm from the midline, "
            f"{ideal.clearances_mm['exiting_root'].clearance_mm:.1f} mm from the exiting root"
        )
    else:
        summary = "no safe path either"
    result.facts.append(("on the true anatomy (roots seen exactly, as on a registered MRI)", summary))
    done(name)
    return result

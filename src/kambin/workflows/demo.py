"""The demo: the most complete job kambin does today, on the built-in synthetic patient.

1. Build a synthetic patient with a left L4-L5 foraminal herniation and write its CT, label map,
   ground truth and preview.
2. Segment the vertebrae from the CT alone and score them against the phantom's truth (Dice).
3. Plan the safest transforaminal path. The planner needs nerve roots and the dural sac, which
   kambin's segmentation does not estimate yet, so this step plans on the phantom's ground-truth
   label map and says so; the plan is then checked against the true roots and dural sac.
4. Rehearse: AP and lateral simulated fluoroscopy with the cannula, and the endoscope's view of
   Kambin's triangle; then the plan report (HTML, pictures embedded).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kambin.atomic import staged_directory
from kambin.errors import InvalidInputError

DEMO_SEED = 3
DEMO_LEVEL = "L4-L5"
DEMO_SIDE = "left"
DEMO_PATHOLOGY = "foraminal-herniation"


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
    from kambin.anatomy.labels import label_id
    from kambin.anatomy.metrics import dice_per_label
    from kambin.anatomy.segmentation import segment_spine
    from kambin.geometry import point_to_segment_distance
    from kambin.phantom import make_patient
    from kambin.phantom.export import write_patient
    from kambin.planning.export import write_plan
    from kambin.planning.models import PlanRequest
    from kambin.planning.planner import plan
    from kambin.render.views import endoscope_meshes, endoscope_view, fluoroscopy_view, write_image
    from kambin.report import write_report

    result = DemoResult(out)

    def timed(name: str):
        step(name)
        result.seconds[name] = time.perf_counter()
        return name

    def done(name: str) -> None:
        result.seconds[name] = round(time.perf_counter() - result.seconds[name], 1)

    name = timed("synthetic patient")
    patient = make_patient(
        DEMO_SEED, pathology=DEMO_PATHOLOGY, level=DEMO_LEVEL, side=DEMO_SIDE, spacing_mm=(spacing_mm,) * 3
    )
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
    try:
        segmentation = segment_spine(patient.ct)
        scores = dice_per_label(segmentation.labels.voxels, patient.labels.voxels)
        named = [(v, label_id("sacrum" if v == "sacrum" else f"vertebrae_{v}")) for v in segmentation.vertebrae]
        dice = {v: scores[i] for v, i in named if i in scores}
        result.facts.append(
            (
                "segmentation",
                f"{', '.join(segmentation.vertebrae)} named by "
                f"{segmentation.identification}; Dice vs truth " + ", ".join(f"{k} {v:.2f}" for k, v in dice.items()),
            )
        )
    except InvalidInputError as error:
        result.facts.append(("segmentation", f"refused: {error}"))
    done(name)

    name = timed("plan")
    request = PlanRequest(level=DEMO_LEVEL, side=DEMO_SIDE)
    planned = plan(patient.ct, patient.labels, request)
    result.files["plan"] = write_plan(planned, out / "plan.json")
    result.facts.append(
        ("plan source", "the phantom's ground-truth label map (segmentation does not yet estimate roots)")
    )
    if planned.feasible:
        entry, target = np.array(planned.entry_lps_mm), np.array(planned.target_lps_mm)
        side = getattr(patient.truth.levels[DEMO_LEVEL], DEMO_SIDE)
        true_root = float(
            (
                point_to_segment_distance(np.array(side.exiting_root_centerline_lps_mm), target, entry)
                - np.array(side.exiting_root_radii_mm)
            ).min()
            - planned.cannula_diameter_mm / 2
        )
        result.facts += [
            ("approach", f"{planned.approach}, {planned.cannula_diameter_mm:g} mm cannula"),
            (
                "entry",
                f"{planned.entry_offset_from_midline_mm / 10:.1f} cm from the midline, depth "
                f"{planned.depth_mm / 10:.1f} cm",
            ),
            (
                "angles",
                f"{planned.axial_angle_deg:.1f} deg from horizontal, {planned.sagittal_angle_deg:+.1f} deg "
                "cranio-caudal",
            ),
            (
                "clearance to exiting root",
                f"planned {planned.clearances_mm['exiting_root'].clearance_mm:.1f} mm, "
                f"true {true_root:.1f} mm (limit 1 mm)",
            ),
            ("foraminoplasty", f"{planned.foraminoplasty_mm3:.0f} mm3"),
        ]
    else:
        result.facts.append(("plan", "no safe path: " + "; ".join(planned.reasons)))
    done(name)

    if planned.feasible:
        name = timed("rehearsal views")
        path = (planned.entry_lps_mm, planned.target_lps_mm)
        for view in ("ap", "lateral"):
            image = fluoroscopy_view(patient.ct, view, path=path, cannula_diameter_mm=planned.cannula_diameter_mm)
            result.files[f"fluoroscopy {view.upper()}"] = write_image(image, out / f"fluoroscopy-{view}.png")
        meshes = endoscope_meshes(patient.ct, patient.labels)
        # The tip 5 mm before the docking point: the view of Kambin's triangle the surgeon docks into.
        image = endoscope_view(meshes, planned.entry_lps_mm, planned.target_lps_mm, at=max(planned.depth_mm - 5.0, 0.0))
        result.files["endoscope view"] = write_image(image, out / "endoscope-triangle.png")
        done(name)

    name = timed("report")
    result.files["report"] = write_report(planned, patient.ct, patient.labels, out / "report.html")
    done(name)
    return result

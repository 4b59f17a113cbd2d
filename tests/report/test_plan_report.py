"""The plan report: every section, numbers taken from the plan, pictures embedded; and the CLI."""

import json
import re

import pytest

from kambin.cli import main
from kambin.phantom import make_demo_patient
from kambin.phantom.export import write_patient
from kambin.planning.models import Plan, PlanRequest
from kambin.planning.planner import plan
from kambin.report import build_report

# Slow (plans and reports: 15-30 s a test): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    patient = make_demo_patient(1.5)
    directory = write_patient(patient, tmp_path_factory.mktemp("report") / "patient")
    return patient, plan(patient.ct, patient.labels, PlanRequest(level="L4-L5", side="left")), directory


def test_report_has_every_section_and_the_plans_numbers(planned):
    patient, result, _ = planned
    assert result.feasible
    html = build_report(result, patient.ct, patient.labels)
    for heading in ("The numbers", "Clearances and the risk each one guards against", "Why", "Pictures",
                    "Alternatives", "For the patient"):
        assert f"<h2>{heading}</h2>" in html
    for title in ("3D, from behind", "3D, from the side", "slice along the path", "simulated fluoroscopy, AP",
                  "simulated fluoroscopy, LATERAL", "endoscope view"):
        assert title in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 8  # the level check and the path's 7
    assert f"{result.entry_offset_from_midline_mm / 10:.1f} cm" in html
    assert f"{result.axial_angle_deg:.1f}&deg;" in html
    assert "nerve injury to the exiting root" in html and "dural tear" in html
    assert "above the left iliac crest" in html and "iliac crest not in the label map" not in html
    assert result.disclaimer in html and "@media print" in html
    # The patient's paragraph is built from the plan's own figures.
    summary = html.split("<h2>For the patient</h2>")[1]
    assert f"{result.entry_offset_from_midline_mm / 10:.0f} cm from the middle of your back" in summary
    assert f"{result.clearances_mm['exiting_root'].clearance_mm:.1f} mm from the nerve" in summary


def test_infeasible_plan_report_says_so_with_only_the_level_check(planned):
    """No path to picture, but "no safe path at L4-L5" is still a claim about a level: the level check stays."""
    patient, result, _ = planned
    blocked = result.model_copy(update={"feasible": False, "approach": None, "entry_lps_mm": None, "alternatives": [],
                                        "clearances_mm": {}, "reasons": ["no safe path: test"]})
    html = build_report(blocked, patient.ct, patient.labels)
    assert "No safe path" in html and "no safe path: test" in html
    assert html.count("data:image/png") == 1 and 'alt="level check"' in html


def test_plan_then_report_cli(planned, tmp_path, capsys):
    _, _, directory = planned
    plan_path, report_path = tmp_path / "plan.json", tmp_path / "report.html"
    with pytest.raises(SystemExit) as done:
        main(["plan", str(directory / "ct.nii.gz"), "--level", "L4-L5", "--side", "left", "-o", str(plan_path)])
    assert done.value.code in (0, None)
    assert Plan.model_validate(json.loads(plan_path.read_text())).inputs["ct"].endswith("ct.nii.gz")
    with pytest.raises(SystemExit) as done:
        main(["report", str(plan_path), "-o", str(report_path)])
    assert done.value.code in (0, None) and "<h2>The numbers</h2>" in report_path.read_text()
    with pytest.raises(SystemExit) as done:
        main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path / "r.html")])
    assert done.value.code == 1 and "no such plan file" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_infeasible_plan_with_a_nominal_path_pictures_it_under_a_warning(planned):
    from kambin.planning.models import Trajectory

    patient, result, _ = planned
    nominal = Trajectory(
        entry_lps_mm=result.entry_lps_mm, target_lps_mm=result.target_lps_mm, depth_mm=result.depth_mm,
        axial_angle_deg=result.axial_angle_deg, sagittal_angle_deg=result.sagittal_angle_deg,
        entry_offset_from_midline_mm=result.entry_offset_from_midline_mm, margin_mm=0.4, bottleneck="exiting_root",
        clearances_mm={k: c.model_copy(update={"uncertainty_mm": 2.5 if "root" in k else 0.0})
                       for k, c in result.clearances_mm.items()},
        foraminoplasty_mm3=result.foraminoplasty_mm3,
    )
    blocked = result.model_copy(update={"feasible": False, "approach": None, "entry_lps_mm": None, "alternatives": [],
                                        "clearances_mm": {}, "nominal": nominal, "nominal_approach": "transforaminal"})
    html = build_report(blocked, patient.ct, patient.labels)
    assert "No safe path" in html and "Not a safe plan" in html and "not a safe plan</span></h2>" in html
    assert "&plusmn;2.5 mm" in html and "seen on CT" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 8  # the level check and the path's 7


def test_infeasible_plan_without_a_nominal_path_pictures_its_closest_path_under_a_warning(planned):
    """No safe path and no nominal one (the truth labels carry no uncertainty): a target given inside
    the dural sac. The report shows the closest path, which limits it breaks, and its pictures, all
    marked not safe."""
    import numpy as np

    patient, _, _ = planned
    sac = np.asarray(patient.truth.dural_sac.centerline_lps_mm)
    disc = np.asarray(patient.truth.levels["L4-L5"].disc.centre_lps_mm)
    inside_sac = tuple(float(v) for v in sac[np.argmin(np.linalg.norm(sac - disc, axis=1))])
    blocked = plan(patient.ct, patient.labels, PlanRequest(level="L4-L5", side="left", target_lps_mm=inside_sac))
    assert not blocked.feasible and blocked.nominal is None and blocked.closest is not None
    html = build_report(blocked, patient.ct, patient.labels)
    assert "No safe path" in html and "Not a safe plan" in html and "of the closest path" in html
    worst = min(blocked.closest.clearances_mm.items(), key=lambda item: item[1].clearance_mm - item[1].limit_mm)
    name, c = worst
    assert f"still breaks the limit to the {name.replace('_', ' ')} (by {c.limit_mm - c.clearance_mm:.1f} mm)" in html
    assert "(breaks the limit)" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 8  # the level check and the path's 7


def test_report_opens_with_the_level_check_picture(planned):
    """The level-check picture (names on the vertebrae of this CT) comes first, before the numbers and
    the path's pictures; it is the same picture `kambin.report.level_check` makes, and only with pictures."""
    import base64

    import cv2
    import numpy as np

    from kambin.report.level_check import level_check_image
    from kambin.report.plan_report import IDENTIFICATION_UNKNOWN

    patient, result, _ = planned
    html = build_report(result, patient.ct, patient.labels)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', html)
    assert [alt for _, alt in images][:2] == ["level check", "3D, from behind"] and len(images) == 8
    assert html.index('alt="level check"') < html.index("<h2>The numbers</h2>") < html.index('alt="3D, from behind"')
    assert "Check the level count against this picture before anything else" in html
    shown = cv2.imdecode(np.frombuffer(base64.b64decode(images[0][0]), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert np.array_equal(shown, level_check_image(patient.ct, patient.labels, IDENTIFICATION_UNKNOWN))
    assert 'alt="level check"' not in build_report(result, patient.ct, patient.labels, pictures=False)

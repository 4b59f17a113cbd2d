"""`kambin plan` end to end on a synthetic patient written by `kambin phantom`'s writer."""

import json

import pytest

from kambin.cli import main
from kambin.phantom import make_demo_patient
from kambin.phantom.export import write_patient

# Slow (planning from the CT alone: 30 s): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow

PLAN_KEYS = {
    "level", "side", "approach", "feasible", "reasons", "entry_lps_mm", "target_lps_mm", "cannula_diameter_mm",
    "depth_mm", "entry_offset_from_midline_mm", "axial_angle_deg", "sagittal_angle_deg", "clearances_mm",
    "foraminoplasty_mm3", "alternatives", "kambin_version", "disclaimer",
}


@pytest.fixture(scope="module")
def patient_dir(tmp_path_factory):
    patient = make_demo_patient(1.5)
    return write_patient(patient, tmp_path_factory.mktemp("plan") / "patient")


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_plan_writes_the_plan_and_a_slicer_line(patient_dir, tmp_path, capsys):
    out, markups = tmp_path / "plan.json", tmp_path / "path.mrk.json"
    code, stdout, _ = run(["plan", str(patient_dir / "ct.nii.gz"), "--labels", str(patient_dir / "labels.nii.gz"),
                           "--level", "L4-L5", "--side", "left", "-o", str(out), "--slicer", str(markups)], capsys)
    assert code == 0 and "feasible" in stdout
    plan = json.loads(out.read_text())
    assert set(plan) >= PLAN_KEYS
    assert plan["feasible"] and plan["approach"] == "transforaminal"
    assert plan["clearances_mm"]["exiting_root"]["clearance_mm"] >= plan["clearances_mm"]["exiting_root"]["limit_mm"]
    line = json.loads(markups.read_text())["markups"][0]
    assert line["type"] == "Line" and line["coordinateSystem"] == "LPS"
    assert [p["position"] for p in line["controlPoints"]] == [plan["entry_lps_mm"], plan["target_lps_mm"]]


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"--cannula-mm": "30"}, "cannula diameter must be 2 to 12 mm"),
        ({"--level": "L9-L10"}, "level must be one of"),
        ({"--side": "up"}, "side"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(patient_dir, tmp_path, capsys, changed, message):
    options = {"--level": "L4-L5", "--side": "left", "-o": str(tmp_path / "p.json")} | changed
    argv = ["plan", str(patient_dir / "ct.nii.gz")] + [item for pair in options.items() for item in pair]
    code, _, err = run(argv, capsys)
    assert code == 1 and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_plan_from_the_ct_alone_segments_and_estimates(tmp_path, capsys, patient_dir):
    out = tmp_path / "p.json"
    code, printed, err = run(
        ["plan", str(patient_dir / "ct.nii.gz"), "--level", "L4-L5", "--side", "left", "-o", str(out)], capsys
    )
    assert code == 0, err
    plan = json.loads(out.read_text())
    if not plan["feasible"]:  # the path shown instead is printed as NOT SAFE, with what it breaks or keeps
        assert ("NOT SAFE" in printed) == (plan["nominal"] is not None or plan["closest"] is not None)
    # The anatomy planned on is written beside the plan, with its sidecar, and the plan names it.
    assert plan["inputs"]["labels"] == str((tmp_path / "p.anatomy.nii.gz").absolute())
    sidecar = json.loads((tmp_path / "p.anatomy.json").read_text())
    assert {"dural_sac", "nerve_root_L4_left", "vertebrae_L4", "vertebrae_L5"} <= set(sidecar.values())
    assert "bone segmented from the CT" in plan["inputs"]["anatomy"]
    assert any(r.startswith("estimated where the CT does not show them") for r in plan["reasons"])
    # The estimates' uncertainty is written beside them, and planning again from them keeps it.
    assert (tmp_path / "p.uncertainty.nii.gz").is_file()
    again = tmp_path / "again.json"
    code, _, err = run(["plan", str(patient_dir / "ct.nii.gz"), "--level", "L4-L5", "--side", "left", "--labels",
                        str(tmp_path / "p.anatomy.nii.gz"), "-o", str(again)], capsys)
    assert code == 0, err
    replanned = json.loads(again.read_text())
    assert (replanned["feasible"], replanned["reasons"]) == (plan["feasible"], plan["reasons"])
    assert replanned["clearances_mm"] == plan["clearances_mm"]
    if plan["feasible"]:
        root = plan["clearances_mm"]["exiting_root"]
        assert root["uncertainty_mm"] > 0 and root["limit_mm"] == pytest.approx(1.0 + root["uncertainty_mm"], abs=0.01)


def test_label_map_on_another_grid_is_refused(tmp_path, capsys, patient_dir):
    import numpy as np

    from kambin.imaging import Volume, write_volume

    other = write_volume(Volume.from_geometry(np.zeros((20, 20, 20), np.uint8), (1.0, 1.0, 1.0)), tmp_path / "l.nii.gz")
    code, _, err = run(["plan", str(patient_dir / "ct.nii.gz"), "--labels", str(other), "--level", "L4-L5",
                        "--side", "left", "-o", str(tmp_path / "p.json")], capsys)
    assert code == 1 and "not on the CT's grid" in err and "Traceback" not in err
    assert not (tmp_path / "p.json").exists()

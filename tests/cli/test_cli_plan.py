"""`kambin plan` end to end on a synthetic patient written by `kambin phantom`'s writer."""

import json

import pytest

from kambin.cli import main
from kambin.phantom import make_patient
from kambin.phantom.export import write_patient

PLAN_KEYS = {
    "level", "side", "approach", "feasible", "reasons", "entry_lps_mm", "target_lps_mm", "cannula_diameter_mm",
    "depth_mm", "entry_offset_from_midline_mm", "axial_angle_deg", "sagittal_angle_deg", "clearances_mm",
    "foraminoplasty_mm3", "alternatives", "kambin_version", "disclaimer",
}


@pytest.fixture(scope="module")
def patient_dir(tmp_path_factory):
    patient = make_patient(3, pathology="foraminal-herniation", level="L4-L5", side="left", spacing_mm=(1.5, 1.5, 1.5))
    return write_patient(patient, tmp_path_factory.mktemp("plan") / "patient")


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_plan_writes_the_plan_and_a_slicer_line(patient_dir, tmp_path, capsys):
    out, markups = tmp_path / "plan.json", tmp_path / "path.mrk.json"
    code, stdout, _ = run(["plan", str(patient_dir / "ct.nii.gz"), "--level", "L4-L5", "--side", "left",
                           "-o", str(out), "--slicer", str(markups)], capsys)
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


def test_missing_label_map_is_explained(tmp_path, capsys, patient_dir):
    import shutil

    shutil.copy(patient_dir / "ct.nii.gz", tmp_path / "ct.nii.gz")
    code, _, err = run(["plan", str(tmp_path / "ct.nii.gz"), "--level", "L4-L5", "--side", "left",
                        "-o", str(tmp_path / "p.json")], capsys)
    assert code == 1 and "pass --labels" in err
    assert not (tmp_path / "p.json").exists()

"""The plan file: written and read back by `planning.plan_file` alone, with its format's version; a
plan written before the version field existed still reads; bad files are refused in one line."""

import json

import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.planning.models import Plan
from kambin.planning.plan_file import read_plan, read_planned_path, write_plan


def _plan() -> Plan:
    return Plan(level="L4-L5", side="left", approach="transforaminal", feasible=True, reasons=["safe"],
                target_lps_mm=(1.0, 2.0, 3.0), target_source="test", entry_lps_mm=(80.0, 60.0, 3.0),
                cannula_diameter_mm=7.0, depth_mm=100.0, entry_offset_from_midline_mm=80.0, axial_angle_deg=30.0,
                sagittal_angle_deg=0.0, clearances_mm={}, foraminoplasty_mm3=0.0, entry_estimated=False,
                alternatives=[], search={})


def test_plan_round_trip_version_and_bad_files(tmp_path):
    path = write_plan(_plan(), tmp_path / "plan.json")
    data = json.loads(path.read_text())
    assert data["format"] == "kambin-plan-1"
    assert read_plan(path) == _plan()
    del data["format"]  # as written before the field existed
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert read_plan(tmp_path / "old.json") == _plan()
    path_only = read_planned_path(path)
    assert path_only.entry_lps_mm == (80.0, 60.0, 3.0) and path_only.cannula_diameter_mm == 7.0
    with pytest.raises(UnreadableFileError, match="no such plan file"):
        read_plan(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UnreadableFileError, match="not readable JSON"):
        read_plan(tmp_path / "broken.json")
    (tmp_path / "future.json").write_text(json.dumps({**data, "format": "kambin-plan-9"}))
    with pytest.raises(UnreadableFileError, match="not a valid kambin plan \\(format"):
        read_plan(tmp_path / "future.json")
    (tmp_path / "short.json").write_text(json.dumps({"entry_lps_mm": [1, 2], "target_lps_mm": [0, 0, 0]}))
    with pytest.raises(InvalidInputError, match="entry_lps_mm"):
        read_planned_path(tmp_path / "short.json")

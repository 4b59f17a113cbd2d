"""The demo job end to end, at a coarse spacing to keep it fast."""

import json

import pytest

from kambin.errors import InvalidInputError
from kambin.planning.models import Plan
from kambin.workflows.demo import STAGES, run_demo

# Slow (the whole demo: over a minute): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow


def test_demo_segments_estimates_plans_and_checks_against_the_truth(tmp_path):
    steps = []
    result = run_demo(tmp_path / "demo", step=steps.append, spacing_mm=1.5)
    for path in result.files.values():
        assert path.exists() and path.stat().st_size > 0 and path.is_relative_to(tmp_path / "demo")
    plan = json.loads((tmp_path / "demo" / "plan.json").read_text())
    facts = dict(result.facts)
    # Planned on the CT alone: the segmentation and the estimated anatomy are written beside the plan.
    assert {"segmentation", "anatomy", "plan", "report"} <= set(result.files)
    assert "the CT alone" in facts["plan source"] and "nerve root L4 left" in facts["estimated (not in the CT)"]
    # A path is always pictured and checked against the truth: the plan's own, or with no safe path its
    # nominal or closest path, labelled NOT SAFE everywhere.
    shown, _, label = Plan.model_validate(plan).shown_path()
    assert shown is not None and tuple(steps) == STAGES
    assert "true" in facts[f"{label}clearance to exiting root"]
    report = result.files["report"].read_text()
    assert report.count('src="data:image/png;base64,') == 8  # the level check and the path's 7
    if not plan["feasible"]:
        assert facts["plan"].startswith("NO SAFE PATH") and "NOT SAFE" in label
        assert "No safe path" in report and "not a safe plan</span></h2>" in report
    # The comparison on the phantom's true anatomy: its own plan and report, beside the main ones.
    ideal = Plan.model_validate(json.loads(result.files["plan on the true anatomy"].read_text()))
    assert ideal.inputs["labels"].startswith("patient/labels.nii.gz")
    assert plan["inputs"]["labels"] != ideal.inputs["labels"]
    comparison = facts["on the true anatomy (roots seen exactly, as on a registered MRI)"]
    assert comparison.startswith("safe") == ideal.feasible
    assert "<h2>The numbers</h2>" in result.files["report on the true anatomy"].read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty"):
        run_demo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]

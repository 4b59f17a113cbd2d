"""The demo job end to end, at a coarse spacing to keep it fast."""

import json

import pytest

from kambin.errors import InvalidInputError
from kambin.workflows.demo import STAGES, run_demo


def test_demo_writes_every_file_and_a_safe_plan(tmp_path):
    steps = []
    result = run_demo(tmp_path / "demo", step=steps.append, spacing_mm=1.5)
    assert tuple(steps) == STAGES
    for path in result.files.values():
        assert path.exists() and path.stat().st_size > 0 and path.is_relative_to(tmp_path / "demo")
    plan = json.loads((tmp_path / "demo" / "plan.json").read_text())
    assert plan["feasible"]
    facts = dict(result.facts)
    assert "true" in facts["clearance to exiting root"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="not empty"):
        run_demo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]

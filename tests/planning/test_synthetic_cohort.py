"""The planner on a cohort of synthetic patients, from the CT alone (kambin's segmentation, the roots
and dural sac estimated from the bone, herniations seen on the CT), checked against the phantom's
ground truth, which the planner never sees. bench/bench_planning_cohort.py runs the same cohort and
prints the counts with the truth-label ceiling beside them."""

import json

import pytest

from kambin.phantom.morphometry import HABITUS
from kambin.phantom.pathology import PATHOLOGIES
from kambin.workflows.synthetic_check import (
    ENVELOPE_TOLERANCE_MM,
    L4_L5_ENTRY_OFFSET_RANGE_MM,
    SAFE_CLEARANCE_MM,
    run_case,
    summarise,
    synthetic_cases,
)

# Slow (the cohort fixture: 4 minutes): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow

# The first seven of the thirty cases of bench/bench_planning_cohort.py: every pathology, level, side
# and habitus once, to keep the suite's time (each case is a patient, a segmentation, the estimates
# and two searches: 40 s on 2 cores). The bench runs all thirty.
CASES = synthetic_cases(7)


@pytest.fixture(scope="module")
def cohort():
    return [run_case(case, spacing_mm=1.5) for case in CASES]


def test_the_cohort_covers_every_pathology_level_side_and_habitus():
    assert {c.pathology for c in CASES} == set(PATHOLOGIES)
    assert {c.level for c in CASES} == {"L3-L4", "L4-L5", "L5-S1"} and {c.side for c in CASES} == {"left", "right"}
    assert {c.habitus for c in CASES} == set(HABITUS)


def test_every_case_is_planned_and_every_feasible_plan_is_safe_against_the_truth(cohort):
    counts = summarise(cohort)
    print(json.dumps(counts))  # the counts, in the test log
    assert counts["refused"] == 0, [r.reasons for r in cohort if r.refused]
    for result in cohort:
        if result.feasible:
            assert result.true_exiting_root_mm >= SAFE_CLEARANCE_MM, result.case
            assert result.true_dural_sac_mm >= SAFE_CLEARANCE_MM, result.case
            assert result.safe, (result.case, result.bone_crossed_mm3, result.foraminoplasty_mm3)
        else:
            assert any(reason.startswith("no safe") for reason in result.reasons), result.case
            if result.nominal_true_exiting_root_mm is not None:  # the path it would take if the roots were exact
                print(
                    result.case,
                    "nominal path, true clearance to the root",
                    round(result.nominal_true_exiting_root_mm, 2),
                )
    assert counts["feasible_and_safe"] == counts["feasible"]


def test_the_envelopes_the_limits_are_kept_to_never_read_farther_than_the_truth(cohort):
    """The safety mechanism itself, on every case, feasible or not: along the path each plan shows (its
    own, or its nominal or closest path), the clearance the planner kept its limit to (to the estimated
    root and sac widened by their uncertainty) is never above the true clearance, within the fields'
    discretisation. Were it above, a plan could be called safe and not be."""
    # Every case shows a path: the search evaluates its first cells whatever the anatomy, so a plan with
    # no safe path still has a closest one.
    assert all(r.envelope_vs_truth_mm for r in cohort), [r.case for r in cohort if not r.envelope_vs_truth_mm]
    for result in cohort:
        for structure, (kept, true) in result.envelope_vs_truth_mm.items():
            assert kept <= true + ENVELOPE_TOLERANCE_MM, (result.case, structure, kept, true)


def test_high_iliac_crest_at_l5_s1_goes_interlaminar_or_is_refused_naming_the_crest(cohort):
    high = [r for r in cohort if r.case.pathology == "high-iliac-crest"]
    assert len(high) >= 1
    for result in high:
        if result.approach != "interlaminar":
            assert not result.feasible
            transforaminal = next(r for r in result.reasons if r.startswith("no safe transforaminal path"))
            assert "iliac crest" in transforaminal, result.reasons


def test_l4_l5_transforaminal_entries_lie_8_to_14_cm_from_the_midline(cohort):
    low, high = L4_L5_ENTRY_OFFSET_RANGE_MM
    for result in cohort:
        if result.feasible and result.case.level == "L4-L5" and result.approach == "transforaminal":
            assert low <= result.entry_offset_mm <= high, (result.case, result.entry_offset_mm)

"""The planner on 30 synthetic patients, end to end from the CT (segmentation, estimated roots and
dural sac, herniations seen on CT), checked against the phantom's ground truth.

Counts, each against its baseline in the same run: feasible plans, feasible plans that keep the
cannula >= 1 mm from the true exiting root and dural sac and cross no unreported bone (baseline:
every feasible plan), high-iliac-crest L5-S1 cases that go interlaminar or are refused naming the
crest (baseline: every such case), L4-L5 transforaminal entries 8 to 14 cm from the midline
(baseline: every such plan; Yeung & Tsou 2002, Hoogland 2006), and the same cohort planned on the
phantom's truth label map (the planner's ceiling: what perfect anatomy would allow), and on every
case, feasible or not, whether along the path the plan shows (its own, nominal or closest) the
clearance its limits were kept to (the estimates widened by their uncertainty) ever reads above the
true clearance (baseline: never).
Time per stage is reported too.
"""

from __future__ import annotations

import numpy as np

from kambin.workflows.synthetic_check import run_case, summarise, synthetic_cases

SPACING_MM = 1.5


def run(report) -> None:
    cases = synthetic_cases(30)
    segmented = [run_case(case, SPACING_MM, "segmented") for case in cases]
    truth = [run_case(case, SPACING_MM, "truth") for case in cases]
    counts, ceiling = summarise(segmented), summarise(truth)
    report(
        name="cohort_feasible",
        value=counts["feasible"],
        unit="plans",
        baseline="planned on the truth labels",
        baseline_value=ceiling["feasible"],
        cases=counts["cases"],
    )
    report(
        name="cohort_feasible_and_safe",
        value=counts["feasible_and_safe"],
        unit="plans",
        baseline="every feasible plan",
        baseline_value=counts["feasible"],
        root_or_sac_under_1mm=counts["root_or_sac_under_1mm"],
        bone_beyond_foraminoplasty=counts["bone_beyond_foraminoplasty"],
        min_true_clearance_mm=counts["min_true_clearance_mm"],
    )
    report(
        name="cohort_high_crest_interlaminar_or_refused",
        value=counts["high_crest_interlaminar_or_infeasible_with_reason"],
        unit="cases",
        baseline="every high-crest case",
        baseline_value=counts["high_crest_cases"],
    )
    report(
        name="cohort_l4_l5_entry_offset_in_8_to_14_cm",
        value=counts["l4_l5_entry_offset_in_range"],
        unit="plans",
        baseline="every L4-L5 transforaminal plan",
        baseline_value=counts["l4_l5_transforaminal"],
        on_truth_labels=f"{ceiling['l4_l5_entry_offset_in_range']} of {ceiling['l4_l5_transforaminal']}",
    )
    nominal = sum(any("confirm them on an MRI" in reason for reason in r.reasons) for r in segmented)
    report(
        name="cohort_nominal_only",
        value=nominal,
        unit="plans",
        baseline="infeasible plans",
        baseline_value=counts["cases"] - counts["feasible"],
    )
    for stage in ("patient", "anatomy", "plan"):
        seconds = [r.seconds[stage] for r in segmented]
        report(
            name=f"cohort_time_{stage}",
            value=round(float(np.median(seconds)), 2),
            unit="s (median per case)",
            baseline="target per level (plan only)" if stage == "plan" else "none",
            baseline_value=2.0 if stage == "plan" else None,
            max_s=round(max(seconds), 2),
        )
    report(
        name="cohort_refused",
        value=counts["refused"],
        unit="cases",
        baseline="none (every case planned)",
        baseline_value=0,
    )
    report(
        name="cohort_envelope_reads_above_the_truth",
        value=counts["shown_paths_whose_envelope_reads_above_the_truth"],
        unit="paths",
        baseline="paths shown (plan, nominal or closest), each checked on the root and the sac",
        baseline_value=counts["shown_paths"],
        smallest_slack_mm=counts["smallest_envelope_slack_mm"],
    )
    report(
        name="cohort_nominal_paths_under_1mm_of_the_truth",
        value=counts["nominal_paths_under_1mm_of_the_true_root_or_sac"],
        unit="paths",
        baseline="nominal paths (infeasible plans' paths if the estimates were exact)",
        baseline_value=counts["nominal_paths"],
    )

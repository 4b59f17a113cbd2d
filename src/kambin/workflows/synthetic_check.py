"""The planner checked on a cohort of synthetic patients, end to end from the CT, against the truth.

Each case: build the patient, segment its CT with `kambin segment`'s engine, estimate the nerve
roots and the dural sac from the bone, plan, then measure the plan against the phantom's ground
truth (not the estimates): the cannula's clearance to the true exiting root and dural sac, the
true bone it crosses beyond the reported foraminoplasty, and the entry's offset from the midline.

Entry offsets are compared with the range reported for transforaminal endoscopy at L4-L5: about 8
to 14 cm from the midline (Yeung & Tsou, Spine 2002, YESS: 8 to 12 cm, more in large patients;
Hoogland et al., Spine 2006, THESSYS: 12 to 14 cm at L4-L5; Ahn, Neurosurg Focus 2003: further
lateral risks the peritoneum).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from kambin.errors import InvalidInputError
from kambin.phantom.morphometry import HABITUS
from kambin.phantom.pathology import PATHOLOGIES

LEVELS = ("L3-L4", "L4-L5", "L5-S1")
L4_L5_ENTRY_OFFSET_RANGE_MM = (80.0, 140.0)
SAFE_CLEARANCE_MM = 1.0
#: True bone crossed beyond the reported foraminoplasty that still counts as "none": the
#: segmentation's surface error (about a voxel) over the part of the cannula's surface grazing bone.
BONE_TOLERANCE_MM3 = 30.0
#: How far the clearance the planner kept (to an estimate widened by its uncertainty) may read above
#: the true clearance without the envelope failing: the clearance fields' discretisation bound on the
#: 1 mm fine grid (half a voxel diagonal, `planning.fields`).
ENVELOPE_TOLERANCE_MM = 0.9


@dataclass(frozen=True)
class Case:
    seed: int
    pathology: str
    level: str
    side: str
    habitus: str


def synthetic_cases(count: int = 30) -> list[Case]:
    """`count` cases covering every pathology, levels L3-L4 to L5-S1 and both sides, seeds 100 up.

    Pathology cycles through the phantom's list; the level turns with the case number so every
    pathology meets every level; a high iliac crest is an L5-S1 condition.
    """
    cases = []
    for n in range(count):
        pathology = PATHOLOGIES[n % len(PATHOLOGIES)]
        level = "L5-S1" if pathology == "high-iliac-crest" else LEVELS[(n + n // len(PATHOLOGIES)) % len(LEVELS)]
        cases.append(Case(100 + n, pathology, level, ("left", "right")[n % 2], HABITUS[(n // 2) % len(HABITUS)]))
    return cases


@dataclass
class CaseResult:
    case: Case
    feasible: bool
    approach: str | None
    reasons: list[str]
    true_exiting_root_mm: float | None = None
    true_dural_sac_mm: float | None = None
    planned_exiting_root_mm: float | None = None
    bone_crossed_mm3: float | None = None
    foraminoplasty_mm3: float | None = None
    entry_offset_mm: float | None = None
    refused: bool = False
    nominal_true_exiting_root_mm: float | None = None  # an infeasible plan's nominal path, against the truth
    nominal_true_dural_sac_mm: float | None = None
    # The path the plan shows (its own, else its nominal or closest path): per structure, the clearance
    # the planner kept its limit to (to the estimate widened by its uncertainty) and the true one.
    envelope_vs_truth_mm: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        """A feasible plan keeps >= 1 mm to the true root and sac and crosses no unreported bone."""
        if not self.feasible:
            return True
        return (
            self.true_exiting_root_mm >= SAFE_CLEARANCE_MM
            and self.true_dural_sac_mm >= SAFE_CLEARANCE_MM
            and self.bone_crossed_mm3 <= self.foraminoplasty_mm3 + BONE_TOLERANCE_MM3
        )

    def as_dict(self) -> dict:
        out = asdict(self)
        out["safe"] = self.safe
        return out


def run_case(case: Case, spacing_mm: float = 1.0, anatomy: str = "segmented") -> CaseResult:
    """Plan one case; `anatomy` "segmented" (the CT alone) or "truth" (the phantom's label map)."""
    import numpy as np

    from kambin.phantom import make_patient
    from kambin.planning.models import PlanRequest
    from kambin.planning.planner import plan
    from kambin.workflows.validation import bone_crossed_mm3, true_clearance_mm

    seconds = {}
    start = time.perf_counter()
    patient = make_patient(
        case.seed,
        pathology=case.pathology,
        level=case.level,
        side=case.side,
        habitus=case.habitus,
        spacing_mm=(spacing_mm,) * 3,
    )
    seconds["patient"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        if anatomy == "truth":
            labels, names, uncertainty = patient.labels, None, None
        else:
            from kambin.workflows.plan_ct import planning_anatomy

            found = planning_anatomy(patient.ct)
            labels, names, uncertainty = found.labels, found.names, found.uncertainty
        seconds["anatomy"] = time.perf_counter() - start
        start = time.perf_counter()
        result = plan(patient.ct, labels, PlanRequest(level=case.level, side=case.side), names, uncertainty)
        seconds["plan"] = time.perf_counter() - start
    except InvalidInputError as error:  # a refusal is an outcome to count, not a crash
        return CaseResult(case, False, None, [f"refused: {error}"], refused=True, seconds=seconds)
    out = CaseResult(case, result.feasible, result.approach, list(result.reasons), seconds=seconds)
    shown, _, _ = result.shown_path()
    if shown is not None:
        for structure in ("exiting_root", "dural_sac"):
            kept = shown.clearances_mm[structure]
            out.envelope_vs_truth_mm[structure] = (
                kept.clearance_mm - kept.uncertainty_mm,
                true_clearance_mm(patient.truth, result, structure, shown),
            )
    if result.nominal is not None:
        out.nominal_true_exiting_root_mm = true_clearance_mm(patient.truth, result, "exiting_root", result.nominal)
        out.nominal_true_dural_sac_mm = true_clearance_mm(patient.truth, result, "dural_sac", result.nominal)
    if result.feasible:
        from kambin.anatomy.labels import label_by_id

        bone_ids = [i for i in np.unique(patient.labels.voxels) if i and label_by_id(int(i)).category == "bone"]
        bone = patient.labels.with_voxels(np.isin(patient.labels.voxels, bone_ids))
        out.true_exiting_root_mm = true_clearance_mm(patient.truth, result, "exiting_root")
        out.true_dural_sac_mm = true_clearance_mm(patient.truth, result, "dural_sac")
        out.planned_exiting_root_mm = result.clearances_mm["exiting_root"].clearance_mm
        out.bone_crossed_mm3 = bone_crossed_mm3(result, bone)
        out.foraminoplasty_mm3 = result.foraminoplasty_mm3
        out.entry_offset_mm = result.entry_offset_from_midline_mm
    return out


def summarise(results: list[CaseResult]) -> dict:
    """The counts the planning issue asks for."""
    feasible = [r for r in results if r.feasible]
    high_crest = [r for r in results if r.case.pathology == "high-iliac-crest"]
    l45 = [r for r in feasible if r.case.level == "L4-L5" and r.approach == "transforaminal"]
    low, high = L4_L5_ENTRY_OFFSET_RANGE_MM
    return {
        "cases": len(results),
        "refused": sum(r.refused for r in results),
        "feasible": len(feasible),
        "feasible_and_safe": sum(r.safe for r in feasible),
        "root_or_sac_under_1mm": sum(
            min(r.true_exiting_root_mm, r.true_dural_sac_mm) < SAFE_CLEARANCE_MM for r in feasible
        ),
        "bone_beyond_foraminoplasty": sum(
            r.bone_crossed_mm3 > r.foraminoplasty_mm3 + BONE_TOLERANCE_MM3 for r in feasible
        ),
        "high_crest_cases": len(high_crest),
        "high_crest_interlaminar_or_infeasible_with_reason": sum(
            r.approach == "interlaminar" or (not r.feasible and any("iliac crest" in x for x in r.reasons))
            for r in high_crest
        ),
        "l4_l5_transforaminal": len(l45),
        "l4_l5_entry_offset_in_range": sum(low <= r.entry_offset_mm <= high for r in l45),
        "shown_paths": sum(bool(r.envelope_vs_truth_mm) for r in results),
        "shown_paths_whose_envelope_reads_above_the_truth": sum(
            any(kept > true + ENVELOPE_TOLERANCE_MM for kept, true in r.envelope_vs_truth_mm.values())
            for r in results
        ),
        "smallest_envelope_slack_mm": round(
            min(
                (true - kept for r in results for kept, true in r.envelope_vs_truth_mm.values()),
                default=float("nan"),
            ),
            2,
        ),
        "nominal_paths": sum(r.nominal_true_exiting_root_mm is not None for r in results),
        "nominal_paths_under_1mm_of_the_true_root_or_sac": sum(
            min(r.nominal_true_exiting_root_mm, r.nominal_true_dural_sac_mm) < SAFE_CLEARANCE_MM
            for r in results
            if r.nominal_true_exiting_root_mm is not None
        ),
        "min_true_clearance_mm": round(
            min((min(r.true_exiting_root_mm, r.true_dural_sac_mm) for r in feasible), default=float("nan")), 2
        ),
    }

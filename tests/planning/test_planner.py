"""The planner on synthetic patients: safety against the phantom's ground truth, approach choice,
and refusals. The patients are built at 1.5 mm to keep the suite fast."""

from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

from kambin.errors import InvalidInputError
from kambin.geometry import point_to_segment_distance
from kambin.imaging import Volume
from kambin.phantom import make_patient
from kambin.planning.models import PlanRequest
from kambin.planning.planner import plan

SPACING = (1.5, 1.5, 1.5)


def true_clearance_mm(patient, result, structure: str) -> float:
    """Smallest distance from the cannula's surface to a true tube (centreline and radii)."""
    entry, target = np.array(result.entry_lps_mm), np.array(result.target_lps_mm)
    side = getattr(patient.truth.levels[result.level], result.side)
    lines = {
        "exiting_root": (side.exiting_root_centerline_lps_mm, side.exiting_root_radii_mm),
        "dural_sac": (patient.truth.dural_sac.centerline_lps_mm, patient.truth.dural_sac.radius_mm),
    }
    centreline, radii = (np.asarray(v, dtype=float) for v in lines[structure])
    return float((point_to_segment_distance(centreline, target, entry) - radii).min() - result.cannula_diameter_mm / 2)


@pytest.fixture(scope="module")
def foraminal():
    return make_patient(1, pathology="foraminal-herniation", level="L3-L4", side="right", spacing_mm=SPACING)


@pytest.fixture(scope="module")
def high_crest():
    return make_patient(3, pathology="high-iliac-crest", level="L5-S1", side="left", spacing_mm=SPACING)


def test_bad_requests(foraminal):
    with pytest.raises(ValidationError, match="cannula diameter must be 2 to 12 mm"):
        PlanRequest(level="L4-L5", side="left", cannula_diameter_mm=25.0)
    with pytest.raises(ValidationError, match="level must be one of"):
        PlanRequest(level="L4-L7", side="left")
    cropped = foraminal.labels.with_voxels(np.where(foraminal.labels.voxels == 31, 0, foraminal.labels.voxels))
    with pytest.raises(InvalidInputError, match=r"level L1-L2 is not in the label map \(vertebrae_L1 missing\)"):
        plan(foraminal.ct, cropped, PlanRequest(level="L1-L2", side="left"))
    low, _ = foraminal.ct.extent_lps_mm()
    with pytest.raises(InvalidInputError, match="outside the CT"):
        plan(foraminal.ct, foraminal.labels, PlanRequest(level="L3-L4", side="right", target_lps_mm=tuple(low - 50)))
    air = foraminal.ct.ijk_to_lps(np.array([2.0, 2.0, foraminal.ct.shape_ijk[2] / 2]))
    with pytest.raises(InvalidInputError, match="outside the body"):
        plan(foraminal.ct, foraminal.labels, PlanRequest(level="L3-L4", side="right", target_lps_mm=tuple(air)))
    other = Volume.from_geometry(np.zeros((10, 10, 10), np.uint8), (1.0, 1.0, 1.0))
    with pytest.raises(InvalidInputError, match="not on the CT's grid"):
        plan(
            foraminal.ct,
            other.with_voxels(np.ones((10, 10, 10), np.uint8) * 28),
            PlanRequest(level="L3-L4", side="right"),
        )


def test_foraminal_herniation_plan_is_safe_against_the_truth(foraminal):
    result = plan(foraminal.ct, foraminal.labels, PlanRequest(level="L3-L4", side="right"))
    assert result.feasible and result.approach == "transforaminal"
    assert result.entry_lps_mm[0] < result.target_lps_mm[0]  # entered from the patient's right (-x)
    assert true_clearance_mm(foraminal, result, "exiting_root") >= 1.0
    assert true_clearance_mm(foraminal, result, "dural_sac") >= 1.0
    # The plan's own numbers agree with the truth to within the fields' stated error.
    assert result.clearances_mm["exiting_root"].clearance_mm == pytest.approx(
        true_clearance_mm(foraminal, result, "exiting_root"), abs=result.search["transforaminal"]["guarantee_mm"]
    )
    assert result.foraminoplasty_mm3 <= 600
    # The fragment displaces the exiting root over the corridor (displace_around): other safe paths
    # 3 degrees away may not exist, and then the plan says so (this patient: none).
    assert len(result.alternatives) <= 2
    if len(result.alternatives) < 2:
        assert any("the safe corridor is narrow" in reason for reason in result.reasons)
    for alternative in result.alternatives:
        assert alternative.margin_mm >= 0
        turn = np.degrees(
            np.arccos(
                np.clip(
                    np.dot(
                        np.subtract(alternative.entry_lps_mm, alternative.target_lps_mm) / alternative.depth_mm,
                        np.subtract(result.entry_lps_mm, result.target_lps_mm) / result.depth_mm,
                    ),
                    -1,
                    1,
                )
            )
        )
        assert turn >= 3.0 - 1.0  # 3 degrees apart, less the entry's 1 mm rounding over the depth
    assert 0 <= result.axial_angle_deg <= 60 and result.depth_mm <= 180
    assert "Research and training use only" in result.disclaimer


def test_high_iliac_crest_at_l5_s1_is_interlaminar_or_infeasible_with_the_crest_named(high_crest):
    result = plan(high_crest.ct, high_crest.labels, PlanRequest(level="L5-S1", side="left"))
    assert result.approach in ("interlaminar", None)
    if result.approach is None:
        assert not result.feasible
        transforaminal = next(r for r in result.reasons if r.startswith("no safe transforaminal path"))
        assert "iliac crest" in transforaminal


def test_with_no_safe_path_the_closest_path_is_reported_and_breaks_a_limit(foraminal):
    """A 12 mm cannula cannot pass Kambin's triangle: no safe path, and the path that comes closest is
    kept (never as the plan) with a negative margin, its broken limit readable in its clearances."""
    result = plan(foraminal.ct, foraminal.labels, PlanRequest(level="L3-L4", side="right", cannula_diameter_mm=12.0))
    assert not result.feasible and result.entry_lps_mm is None and result.alternatives == []
    closest = result.closest
    assert closest is not None and result.closest_approach in ("transforaminal", "interlaminar")
    assert closest.margin_mm < 0
    _, worst = closest.broken_limits()[0]
    margins = [c.clearance_mm - c.limit_mm for c in closest.clearances_mm.values()]
    assert worst.clearance_mm - worst.limit_mm == min(margins)
    broken = closest.clearances_mm[closest.bottleneck]
    assert broken.clearance_mm - broken.limit_mm <= closest.margin_mm + 0.05  # the corridor's margin, or worse
    # The closest path's own cannula surface comes within the limit of the true structure it names.
    if closest.bottleneck in ("exiting_root", "dural_sac"):
        path = SimpleNamespace(entry_lps_mm=closest.entry_lps_mm, target_lps_mm=closest.target_lps_mm, level="L3-L4",
                               side="right", cannula_diameter_mm=12.0)
        assert true_clearance_mm(foraminal, path, closest.bottleneck) < 1.5
    shown, approach, label = result.shown_path()
    assert shown is closest and approach == result.closest_approach and "NOT SAFE" in label

"""Guidance on a planned synthetic patient: numbers along the plan, alarms toward the nerve root,
and states that hide nothing."""

import numpy as np
import pytest
from pydantic import ValidationError

from kambin.navigation.guidance import AlarmConfig, GuidanceModel


@pytest.fixture(scope="module")
def planned(case):
    """The simulated operating room's case (conftest: phantom seed 4, left L4-L5, planned on its truth)."""
    model = GuidanceModel(case.plan.entry_lps_mm, case.plan.target_lps_mm, case.fields)
    return case, case.plan, model


def test_on_the_plan(planned):
    _, result, model = planned
    entry, target = np.array(result.entry_lps_mm), np.array(result.target_lps_mm)
    halfway = model.update(1.0, (entry + target) / 2, target - entry)
    assert halfway.drawable
    assert halfway.distance_to_target_mm == pytest.approx(result.depth_mm / 2, abs=0.6)
    assert halfway.depth_along_plan_mm == pytest.approx(result.depth_mm / 2, abs=0.6)
    assert halfway.off_plan_mm == pytest.approx(0.0, abs=1e-6) and halfway.angle_off_plan_deg < 1e-4
    axis = (target - entry) / np.linalg.norm(target - entry)
    np.testing.assert_allclose(halfway.direction_to_target_lps, axis, atol=1e-9)
    assert halfway.aim_off_target_deg < 1e-4
    across = np.cross(axis, (0.0, 0.0, 1.0))
    beside = model.update(1.0, (entry + target) / 2 + across / np.linalg.norm(across) * 5.0, target - entry)
    assert beside.aim_off_target_deg == pytest.approx(np.degrees(np.arctan2(5.0, result.depth_mm / 2)), abs=0.05)
    # Along the planned path the tip is never nearer the root than the plan's cannula surface was.
    radius = result.cannula_diameter_mm / 2
    for fraction in np.linspace(0.5, 1.0, 11):
        g = model.update(2.0, entry + fraction * (target - entry), target - entry)
        assert g.distances_mm["exiting_root"] >= result.clearances_mm["exiting_root"].clearance_mm + radius - 0.9


def test_toward_the_root_warns_then_stops(planned):
    case, result, model = planned
    root = case.exiting_root_lps_mm
    target = np.array(result.target_lps_mm)
    states = []
    for fraction in np.linspace(0.0, 1.0, 41):
        tip = target + fraction * (root - target)
        states.append(model.update(3.0, tip, root - target).state)
    assert "warn" in states and states[-1] == "stop"
    assert states.index("warn") < states.index("stop")


def test_untrustworthy_states_carry_no_numbers(planned):
    _, result, model = planned
    tip = np.array(result.target_lps_mm)
    lost = model.update(4.0, tip, (1, 0, 0), pose_status="missing")
    assert lost.state == "tracking_lost" and not lost.drawable and lost.tip_lps_mm is None and not lost.distances_mm
    assert model.update(4.0, (np.nan, 0, 0), (1, 0, 0)).state == "tracking_lost"
    assert model.update(4.0, tip, (1, 0, 0), registration_error_mm=None).state == "no_registration"
    poor = model.update(4.0, tip, (1, 0, 0), registration_error_mm=3.5)
    assert poor.state == "poor_registration" and "3.5 mm" in poor.alarms[0]


def test_alarm_config_checks_its_order():
    with pytest.raises(ValidationError, match="must not be below stop"):
        AlarmConfig(warn_mm={"exiting_root": 0.5}, stop_mm={"exiting_root": 1.0})

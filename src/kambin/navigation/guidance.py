"""Guidance: where the tracked tip is relative to the plan and to the structures to avoid, and the
alarms that follow, computed from the same clearance fields the planner used (so the numbers in
the operating room and in the plan agree).

Inputs each frame: the tip position and shaft direction in CT LPS mm (from the transform graph),
the pose status and the registration state. A state that makes the numbers untrustworthy is
never hidden: with no registration, a poor one, or a lost or stale pose, the guidance carries
that state, no distances, and no tip to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kambin.errors import InvalidInputError
from kambin.planning.fields import ClearanceField

WATCHED = ("exiting_root", "traversing_root", "dural_sac", "bone")
STATES = ("ok", "warn", "stop", "no_registration", "poor_registration", "tracking_lost")


class AlarmConfig(BaseModel):
    """Distances (mm, from the tip) at which an alarm warns and at which it says stop."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    warn_mm: dict[str, float] = Field(
        default_factory=lambda: {"exiting_root": 3.0, "traversing_root": 3.0, "dural_sac": 3.0, "bone": 1.0}
    )
    stop_mm: dict[str, float] = Field(
        default_factory=lambda: {"exiting_root": 1.0, "traversing_root": 1.0, "dural_sac": 1.0, "bone": 0.0}
    )
    max_registration_error_mm: float = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> AlarmConfig:
        for name, stop in self.stop_mm.items():
            if name in self.warn_mm and self.warn_mm[name] < stop:
                raise ValueError(f"{name}: the warning distance ({self.warn_mm[name]}) must not be below stop ({stop})")
        return self


@dataclass(frozen=True)
class Guidance:
    """One frame's guidance. Numbers are None whenever `state` says they cannot be trusted."""

    t: float
    state: str
    alarms: tuple[str, ...]
    tip_lps_mm: tuple[float, float, float] | None = None
    distance_to_target_mm: float | None = None
    depth_along_plan_mm: float | None = None
    off_plan_mm: float | None = None
    angle_off_plan_deg: float | None = None
    distances_mm: dict[str, float] = field(default_factory=dict)
    direction_to_target_lps: tuple[float, float, float] | None = None
    aim_off_target_deg: float | None = None

    @property
    def drawable(self) -> bool:
        """Whether the tool may be drawn as live."""
        return self.state in ("ok", "warn", "stop")


class GuidanceModel:
    """Guidance for one plan: entry and target (LPS mm) and the structures' clearance fields."""

    def __init__(
        self, entry_lps_mm, target_lps_mm, fields: dict[str, ClearanceField], alarms: AlarmConfig | None = None
    ):
        self.entry = np.asarray(entry_lps_mm, dtype=np.float64)
        self.target = np.asarray(target_lps_mm, dtype=np.float64)
        length = float(np.linalg.norm(self.target - self.entry))
        if length < 1e-6:
            raise InvalidInputError("the plan's entry and target coincide")
        self.axis = (self.target - self.entry) / length
        self.fields = {name: f for name, f in fields.items() if name in WATCHED}
        self.alarms = alarms or AlarmConfig()

    def update(
        self, t: float, tip_lps_mm, direction_lps, pose_status: str = "ok", registration_error_mm: float | None = 0.0
    ) -> Guidance:
        """Guidance at time t for a tip position and shaft direction (CT LPS)."""
        if registration_error_mm is None:
            return Guidance(t, "no_registration", ("no registration: guidance off",))
        if registration_error_mm > self.alarms.max_registration_error_mm:
            return Guidance(
                t,
                "poor_registration",
                (
                    f"poor registration ({registration_error_mm:.1f} mm > "
                    f"{self.alarms.max_registration_error_mm:g} mm): guidance off",
                ),
            )
        if pose_status not in ("ok", "estimated"):
            return Guidance(t, "tracking_lost", (f"tracking lost ({pose_status})",))
        tip = np.asarray(tip_lps_mm, dtype=np.float64)
        direction = np.asarray(direction_lps, dtype=np.float64)
        if not (np.all(np.isfinite(tip)) and np.all(np.isfinite(direction)) and np.linalg.norm(direction) > 0):
            return Guidance(t, "tracking_lost", ("tracking lost (invalid pose)",))
        direction = direction / np.linalg.norm(direction)
        relative = tip - self.entry
        depth = float(relative @ self.axis)
        off_plan = float(np.linalg.norm(relative - depth * self.axis))
        angle = float(np.degrees(np.arccos(np.clip(direction @ self.axis, -1.0, 1.0))))
        distances = {name: float(f.sample(tip[None, :])[0]) for name, f in self.fields.items()}
        to_target = self.target - tip
        distance_to_target = float(np.linalg.norm(to_target))
        toward = to_target / distance_to_target if distance_to_target > 1e-9 else direction
        # How far the shaft points away from the target (0 when aimed straight at it).
        aim = float(np.degrees(np.arccos(np.clip(direction @ toward, -1.0, 1.0))))
        state, alarms = "ok", []
        for name, distance in sorted(distances.items(), key=lambda item: item[1]):
            label = name.replace("_", " ")
            if name in self.alarms.stop_mm and distance <= self.alarms.stop_mm[name]:
                state = "stop"
                alarms.append(f"STOP: {label} {distance:.1f} mm")
            elif name in self.alarms.warn_mm and distance <= self.alarms.warn_mm[name]:
                state = "warn" if state == "ok" else state
                alarms.append(f"warning: {label} {distance:.1f} mm")
        return Guidance(
            t,
            state,
            tuple(alarms),
            tuple(float(v) for v in tip),
            distance_to_target,
            depth,
            off_plan,
            angle,
            distances,
            tuple(float(v) for v in toward),
            aim,
        )

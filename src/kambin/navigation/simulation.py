"""The simulated operating room: the synthetic patient, its plan, a virtual tracked endoscope that
moves along and around the planned path under an optical tracker's noise, and the endoscope video
rendered from the same patient. No hardware; used by `kambin monitor --sim`, the tests and the
benchmarks.

Simulator controls (for demonstrations and tests; never part of a real setup):
- `ScopeScript.set_scenario("plan" | "toward_root")`: move along the planned path with a slow
  wobble around it, or leave the target toward the exiting nerve root and stop there, at the
  first point where the guidance warns (2 mm from the root's surface);
- `OperatingRoomTracker.force_dropout(on)`: the scope leaves the tracker's view until released;
- `FreezableEndoscopeSource.freeze(on)`: the video repeats its last picture, as a stuck grabber;
- `simulated_registration("ok" | "poor" | "none")`: the registration the navigator is given.

The patient is the phantom's built-in one (`kambin.phantom.make_demo_patient`, the demo's case),
planned with `kambin.planning.plan` on its ground-truth labels (the phantom knows its nerve roots
and dural sac; a real CT needs them estimated).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_axis_angle, invert

# The case's readers and builders, shared with the live monitor (kambin.navigation.case).
from kambin.navigation.case import (  # noqa: F401 - re-exported: sim.load_plan, sim.guidance_model, ...
    APPROACH_EXTENT_MM,
    ENDOSCOPE_BOX_MM,
    NavigationCase,
    endoscope_meshes_near_target,
    guidance_model,
    load_alarms,
    load_plan,
    overlay_for,
)
from kambin.phantom.patient import DEMO_LEVEL, DEMO_SIDE
from kambin.planning.models import Plan
from kambin.registration.registration_file import Registration
from kambin.render.video_source import SimulatedEndoscopeSource
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.simulated import NoiseModel, SimulatedTracker, ToolPath

SCENARIOS = ("plan", "toward_root")
# The tracker sits about 1.5 m from the patient, turned 90 degrees about the table's long axis.
CT_TO_TRACKER = from_axis_angle(np.array([0.0, 0.0, np.pi / 2]), np.array([120.0, -1500.0, 40.0]))
REGISTRATION_ERROR_MM = 0.6  # a typical paired-point FRE on a spine reference (simulated)
POOR_REGISTRATION_ERROR_MM = 3.5  # above AlarmConfig's default 2 mm limit
REGISTRATION_STATES = ("ok", "poor", "none")


@dataclass
class SimulatedCase(NavigationCase):
    """The simulated patient's case, and where its exiting root's ganglion is (ground truth)."""

    exiting_root_lps_mm: np.ndarray


def build_case(plan: str | os.PathLike | Plan | None = None, spacing_mm: float = 1.5) -> SimulatedCase:
    """The synthetic patient, the plan (planned here, or `plan`: a `Plan` or the path of a PLAN.json
    made for the same synthetic patient, e.g. by `kambin demo`) and the clearance fields guidance
    samples."""
    from kambin.phantom import make_demo_patient
    from kambin.planning.models import PlanRequest
    from kambin.planning.planner import plan as make_plan
    from kambin.planning.scene import build_scene

    given = plan if plan is None or isinstance(plan, Plan) else load_plan(plan)
    patient = make_demo_patient(spacing_mm)
    if given is None:
        planned = make_plan(patient.ct, patient.labels, PlanRequest(level=DEMO_LEVEL, side=DEMO_SIDE))
        if not planned.feasible:
            raise InvalidInputError("the synthetic patient could not be planned; check kambin.planning")
    else:
        planned = given
    scene = build_scene(patient.ct, patient.labels, planned.level, planned.side,
                        np.asarray(planned.target_lps_mm, dtype=np.float64), APPROACH_EXTENT_MM)
    side = getattr(patient.truth.levels[planned.level], planned.side)
    root = np.asarray(side.exiting_root_ganglion_lps_mm, dtype=np.float64)
    return SimulatedCase(patient.ct, patient.labels, planned, scene.fields, exiting_root_lps_mm=root)


class ScopeScript:
    """The true scope pose over time (`scope_to_ct(t)`, t in `time.monotonic()` seconds), by scenario.

    "plan": the tip travels between 35 mm and 3 mm before the target at 4 mm/s, circling the path
    at 1.2 mm with the shaft tilted up to 2 degrees, and rolling slowly (the view sweeps).
    "toward_root": from the pose it had, the tip moves in 1.5 s to the warning point toward the
    exiting root's ganglion and stays there.
    """

    def __init__(self, case: SimulatedCase, warn_mm: float = 2.0):
        from kambin.render.endoscope import scope_pose

        self._scope_pose = scope_pose
        self.entry, self.target = case.entry, case.target
        self.length = float(np.linalg.norm(self.target - self.entry))
        self.axis = (self.target - self.entry) / self.length
        helper = np.array([0.0, 0.0, 1.0])
        self._u = np.cross(self.axis, helper)
        self._u /= np.linalg.norm(self._u)
        self._v = np.cross(self.axis, self._u)
        self.warn_point = self._warn_point(case, warn_mm)
        self._lock = threading.Lock()
        self._scenario, self._since = "plan", time.monotonic()
        self._from_tip = self.target.copy()

    @staticmethod
    def _warn_point(case: SimulatedCase, warn_mm: float) -> np.ndarray:
        """The first point on the segment target -> root ganglion where the root is `warn_mm` away."""
        field = case.fields["exiting_root"]
        fractions = np.linspace(0.0, 1.0, 401)
        points = case.target + fractions[:, None] * (case.exiting_root_lps_mm - case.target)
        distances = field.sample(points)
        close = np.flatnonzero(distances <= warn_mm)
        if len(close) == 0:
            raise InvalidInputError("the simulated exiting root is never within the warning distance of the path")
        return points[close[0]]

    @property
    def scenario(self) -> str:
        return self._scenario

    def set_scenario(self, name: str, now_s: float | None = None) -> None:
        """Simulator control: switch scenario (see the class docstring)."""
        if name not in SCENARIOS:
            raise InvalidInputError(f"scenario must be one of {SCENARIOS}, not {name!r}")
        now = time.monotonic() if now_s is None else now_s
        from_tip = self.scope_to_ct(now)[:3, 3]
        with self._lock:
            self._from_tip, self._scenario, self._since = from_tip, name, now

    def scope_to_ct(self, t_s: float) -> np.ndarray:
        with self._lock:
            scenario, since, from_tip = self._scenario, self._since, self._from_tip
        elapsed = max(t_s - since, 0.0)
        if scenario == "toward_root":
            fraction = min(elapsed / 1.5, 1.0)
            tip = from_tip + fraction * (self.warn_point - from_tip)
            return self._scope_pose(tip, self.axis)
        span = 32.0
        s = (4.0 * t_s) % (2 * span)
        depth = self.length - 35.0 + (s if s <= span else 2 * span - s)
        phase = 2 * np.pi * t_s / 6.0
        around = 1.2 * (np.cos(phase) * self._u + np.sin(phase) * self._v)
        tilt = np.radians(2.0) * (np.cos(phase) * self._u + np.sin(phase) * self._v)
        tip = self.entry + depth * self.axis + around
        return self._scope_pose(tip, self.axis + tilt, roll_deg=20.0 * np.sin(2 * np.pi * t_s / 20.0))


class OperatingRoomTracker(SimulatedTracker):
    """The simulated tracker of the operating room: the scope follows a `ScopeScript` (on the shared
    monotonic clock), the patient reference is fixed; `force_dropout` is the simulator control that
    takes the scope out of view."""

    def __init__(self, script: ScopeScript, reference_lps_mm: np.ndarray, **kwargs):
        paths = {"scope": ToolPath(np.zeros((1, 3))), "reference": ToolPath(np.asarray(reference_lps_mm)[None, :])}
        kwargs.setdefault("noise", NoiseModel())
        super().__init__(paths, ct_to_tracker=CT_TO_TRACKER, **kwargs)
        self.script = script
        self._dropout = False

    def truth(self, tool: str, t_since_start_s: float) -> np.ndarray:
        if tool == "scope":
            return self.ct_to_tracker @ self.script.scope_to_ct(self._start + t_since_start_s)
        return super().truth(tool, t_since_start_s)

    def force_dropout(self, on: bool) -> None:
        """Simulator control: the scope is out of the tracker's view from the next frame, until released."""
        self._dropout = bool(on)

    @property
    def dropout(self) -> bool:
        return self._dropout

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        frame = super()._acquire(timeout_s)
        if frame is not None and self._dropout:
            poses = dict(frame.poses)
            poses["scope"] = ToolPose.missing("scope", "scope out of the tracker's view (simulated dropout)")
            frame = TrackingFrame(frame.timestamp_s, poses, frame.index, frame.source_timestamp_s, frame.faults)
        return frame

    def registration(self) -> Registration:
        """The simulated patient registration: the true `ct_to_reference` with its typical FRE."""
        reference_to_tracker = super().truth("reference", 0.0)
        return Registration(invert(reference_to_tracker) @ self.ct_to_tracker, REGISTRATION_ERROR_MM,
                            "simulated paired-point")


def reference_position(case: SimulatedCase) -> np.ndarray:
    """Where the patient reference is clamped: 60 mm posterior and 40 mm cranial of the target."""
    return case.target + np.array([0.0, 60.0, 40.0])


def simulated_registration(tracker: OperatingRoomTracker, state: str) -> Registration:
    """Simulator control: the true registration ("ok"), the same with an error above the limit
    ("poor"), or none at all ("none")."""
    if state not in REGISTRATION_STATES:
        raise InvalidInputError(f"registration must be one of {REGISTRATION_STATES}, not {state!r}")
    good = tracker.registration()
    if state == "ok":
        return good
    if state == "poor":
        return Registration(good.ct_to_reference, POOR_REGISTRATION_ERROR_MM, "simulated poor registration")
    return Registration(None)


class FreezableEndoscopeSource(SimulatedEndoscopeSource):
    """The simulated endoscope video with a camera's sensor noise (Gaussian, `noise_sd` grey levels,
    from a bank of seeded patterns: a real sensor never gives two identical frames, and the frozen-
    video check relies on that), and a simulator control, `freeze(on)`: while frozen, frames keep
    coming (fresh timestamps) but repeat the last picture exactly, as a stuck frame grabber does."""

    def __init__(self, *args, noise_sd: float = 2.0, seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self._frozen = False
        self._last: np.ndarray | None = None
        width, height = self.size
        rng = np.random.default_rng(seed)
        self._noise = [np.round(rng.normal(0.0, noise_sd, (height, width, 3))).astype(np.int16) for _ in range(8)]

    def freeze(self, on: bool) -> None:
        self._frozen = bool(on)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if self._frozen and self._last is not None:
            timestamp = self._paced(self.rate_hz, self.realtime)
            return self._last, timestamp
        image, timestamp = super()._grab()
        noise = self._noise[self.frames_delivered % len(self._noise)]
        image = cv2.add(image, noise, dtype=cv2.CV_8U)
        self._last = image
        return image, timestamp

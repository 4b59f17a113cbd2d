"""The real-time navigation pipeline: operators with declared inputs and outputs, wired in one place.

The shape follows NVIDIA Holoscan's operators and `compose()` (operators declare the ports they
read and write; one function connects them) and PLUS's transform repository (every pose goes
through one transform graph). Per video frame, in order:

    sources (video frame; tracking frames that arrived since the last step)
      -> Synchronise     tracking frame nearest before the video frame's acquisition time
      -> UpdateTransforms  transform graph: scope -> tracker <- reference <- ct (registration)
      -> ComputeGuidance   tip, distances, depth, angle, alarms (`GuidanceModel`)
      -> DrawOverlay       target, path, nerve root, dural sac on the image (`Overlay`)
      -> Record            sink: the session on disk (optional)

`compose_navigation` is the one place where they are wired; a `Pipeline` refuses an operator
whose inputs nothing before it produces. Replay (`kambin.navigation.replay`) feeds recorded
frames through the same composition, so live and replayed numbers agree.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence

import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.graph import DerivedTransform, TransformGraph
from kambin.navigation.guidance import Guidance, GuidanceModel
from kambin.navigation.overlay import Overlay
from kambin.navigation.recording import pose_record, video_record_fields
from kambin.registration.registration_file import Registration
from kambin.tracking.frame import TrackingFrame
from kambin.video.frame import VideoFrame

SOURCES = ("video_frame", "tracking_frames")
# A pose older than this, relative to the video frame it is paired with, is stale: shown as lost.
MAX_POSE_AGE_S = 0.1


class Operator(ABC):
    """One step of the pipeline: reads `inputs` from the step's values, returns `outputs`."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def compute(self, values: dict) -> dict: ...


class Pipeline:
    """Operators run in order on one dict of values per step; wiring checked on construction."""

    def __init__(self, operators: Sequence[Operator], sources: Sequence[str] = SOURCES):
        available = set(sources)
        for operator in operators:
            missing = [name for name in operator.inputs if name not in available]
            if missing:
                raise InvalidInputError(
                    f"operator {operator.name} reads {missing}, which no source or earlier operator produces "
                    f"(available: {sorted(available)})"
                )
            clash = [name for name in operator.outputs if name in available]
            if clash:
                raise InvalidInputError(f"operator {operator.name} would overwrite {clash}")
            available.update(operator.outputs)
        self.operators = list(operators)
        self.sources = tuple(sources)
        self.last_timings_ms: dict[str, float] = {}

    def step(self, **values) -> dict:
        """Run every operator once; returns all values of the step (sources included)."""
        missing = [name for name in self.sources if name not in values]
        if missing:
            raise InvalidInputError(f"pipeline step needs {missing}")
        timings = {}
        for operator in self.operators:
            start = time.perf_counter()
            produced = operator.compute(values)
            timings[operator.name] = (time.perf_counter() - start) * 1000.0
            if set(produced) != set(operator.outputs):
                raise RuntimeError(f"{operator.name} produced {sorted(produced)}, declared {operator.outputs}")
            values.update(produced)
        self.last_timings_ms = timings
        return values

    def operator(self, kind: type) -> Operator:
        for operator in self.operators:
            if isinstance(operator, kind):
                return operator
        raise InvalidInputError(f"no {kind.__name__} in this pipeline")


class Synchronise(Operator):
    """Pair each video frame with the latest tracking frame acquired at or before it.

    Tracking frames are kept in arrival order (a bounded buffer); the pairing is causal (a pose
    from after the image is never used), so a replay that feeds the same frames in the same order
    pairs them the same way. `pose_age_s` is the video time minus the pose time.
    """

    inputs = ("video_frame", "tracking_frames")
    outputs = ("tracking_frame", "pose_age_s")

    def __init__(self, buffer_s: float = 1.0):
        self.buffer_s = buffer_s
        self._buffer: deque[TrackingFrame] = deque()

    def compute(self, values: dict) -> dict:
        for frame in values["tracking_frames"]:
            self._buffer.append(frame)
        t = values["video_frame"].timestamp_s
        while len(self._buffer) > 1 and self._buffer[0].timestamp_s < t - self.buffer_s:
            self._buffer.popleft()
        chosen = None
        for frame in reversed(self._buffer):
            if frame.timestamp_s <= t:
                chosen = frame
                break
        return {"tracking_frame": chosen, "pose_age_s": None if chosen is None else t - chosen.timestamp_s}


class UpdateTransforms(Operator):
    """Write the paired tracking frame into the transform graph and derive `scope_to_ct`.

    Edges: scope -> tracker and reference -> tracker (measured), ct -> reference (registration).
    The derived transform carries the worst status on its path; a pose older than
    `max_pose_age_s` is marked "stale", and no pose at all is "missing".
    """

    inputs = ("tracking_frame", "pose_age_s")
    outputs = ("scope_to_ct", "pose_status", "registration_error_mm")

    def __init__(self, registration: Registration, scope: str = "scope", reference: str = "reference",
                 max_pose_age_s: float = MAX_POSE_AGE_S):
        self.scope, self.reference, self.max_pose_age_s = scope, reference, max_pose_age_s
        self.graph = TransformGraph()
        self.registration = registration
        self.set_registration(registration)

    def set_registration(self, registration: Registration) -> None:
        """Replace the registration (`ct_to_reference`); None removes it."""
        self.registration = registration
        if registration.registered:
            self.graph.set("ct", self.reference, registration.ct_to_reference, 0.0, "ok", registration.error_mm)

    def compute(self, values: dict) -> dict:
        frame: TrackingFrame | None = values["tracking_frame"]
        error = self.registration.error_mm if self.registration.registered else None
        if frame is None:
            return {"scope_to_ct": None, "pose_status": "missing", "registration_error_mm": error}
        frame.update_graph(self.graph)
        if not (self.graph.has(self.scope, "ct") and self.registration.registered):
            status = frame.poses[self.scope].status if self.scope in frame.poses else "missing"
            return {"scope_to_ct": None, "pose_status": status, "registration_error_mm": error}
        derived: DerivedTransform = self.graph.get(self.scope, "ct")
        status = derived.status
        if derived.is_valid and values["pose_age_s"] > self.max_pose_age_s:
            status = "stale"
        return {"scope_to_ct": derived.matrix if status in ("ok", "estimated") else None, "pose_status": status,
                "registration_error_mm": error}


class ComputeGuidance(Operator):
    """Guidance at the video frame's acquisition time from `scope_to_ct` (tip at the scope origin,
    shaft along its +z axis), through `GuidanceModel.update`."""

    inputs = ("video_frame", "scope_to_ct", "pose_status", "registration_error_mm")
    outputs = ("guidance",)

    def __init__(self, model: GuidanceModel):
        self.model = model

    def compute(self, values: dict) -> dict:
        scope_to_ct = values["scope_to_ct"]
        t = values["video_frame"].timestamp_s
        if scope_to_ct is None:
            tip = direction = (np.nan, np.nan, np.nan)
        else:
            tip, direction = scope_to_ct[:3, 3], scope_to_ct[:3, 2]
        return {"guidance": self.model.update(t, tip, direction, values["pose_status"],
                                              values["registration_error_mm"])}


class DrawOverlay(Operator):
    """The video frame with the plan and the structures drawn on it (`Overlay.draw`)."""

    inputs = ("video_frame", "scope_to_ct", "guidance")
    outputs = ("overlay_rgb",)

    def __init__(self, overlay: Overlay):
        self.overlay = overlay

    def compute(self, values: dict) -> dict:
        guidance: Guidance = values["guidance"]
        scope_to_ct = values["scope_to_ct"] if guidance.drawable else None
        return {"overlay_rgb": self.overlay.draw(values["video_frame"].image_rgb, scope_to_ct, guidance)}


class Record(Operator):
    """Sink: every tracking frame as it reaches the pipeline, then the video frame and its guidance,
    appended to a `SessionWriter` (in processing order, which replay follows). No-op while
    `writer` is None."""

    inputs = ("video_frame", "tracking_frames", "guidance")
    outputs = ()

    def __init__(self, writer=None):
        self.writer = writer

    def compute(self, values: dict) -> dict:
        writer = self.writer
        if writer is None:
            return {}
        for frame in values["tracking_frames"]:
            writer.write(frame.timestamp_s, "pose", **pose_record(frame))
        video: VideoFrame = values["video_frame"]
        writer.write(video.timestamp_s, "video", image_rgb=video.image_rgb, **video_record_fields(video))
        guidance: Guidance = values["guidance"]
        writer.write(guidance.t, "guidance", **guidance_fields(guidance))
        return {}


def guidance_fields(guidance: Guidance) -> dict:
    """A `Guidance` as JSON-ready fields (the "guidance" record; `/api/status`)."""
    return {
        "state": guidance.state,
        "alarms": list(guidance.alarms),
        "tip_lps_mm": None if guidance.tip_lps_mm is None else list(guidance.tip_lps_mm),
        "distance_to_target_mm": guidance.distance_to_target_mm,
        "depth_along_plan_mm": guidance.depth_along_plan_mm,
        "off_plan_mm": guidance.off_plan_mm,
        "angle_off_plan_deg": guidance.angle_off_plan_deg,
        "distances_mm": dict(guidance.distances_mm),
        "direction_to_target_lps": None if guidance.direction_to_target_lps is None
        else list(guidance.direction_to_target_lps),
        "aim_off_target_deg": guidance.aim_off_target_deg,
    }


def compose_navigation(model: GuidanceModel, overlay: Overlay, registration: Registration,
                       record: bool = True, max_pose_age_s: float = MAX_POSE_AGE_S, scope: str = "scope",
                       reference: str = "reference") -> Pipeline:
    """The navigation pipeline, wired in this one place (see the module docstring). `scope` and
    `reference` are the tracker's names of the scope (tip frame) and the patient reference."""
    operators: list[Operator] = [
        Synchronise(),
        UpdateTransforms(registration, scope=scope, reference=reference, max_pose_age_s=max_pose_age_s),
        ComputeGuidance(model),
        DrawOverlay(overlay),
    ]
    if record:
        operators.append(Record())
    return Pipeline(operators)

"""The live navigator: runs the sources and the pipeline in threads and holds the latest results
and the health of the system (frame rate, latency, tracking, registration, video, alarms) for
whatever shows them (the monitor reads it; it never reaches back).

Threads: one reads the tracker (every frame, as it arrives); one reads the video and runs the
pipeline once per video frame with the tracking frames that arrived since the last step. The
tracking state is also judged from the tracker thread alone, so a dropout shows at the tracker's
rate, without waiting for the next video frame. Controls (registration, recording on and off)
are queued and applied by the pipeline thread between two steps, so a recording holds them in
the order the pipeline met them and a replay applies them at the same frame.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from kambin.navigation.guidance import Guidance
from kambin.navigation.pipeline import (
    MAX_POSE_AGE_S,
    ComputeGuidance,
    Pipeline,
    Record,
    Registration,
    UpdateTransforms,
    guidance_fields,
)
from kambin.navigation.recording import DISCLAIMER, SessionWriter
from kambin.navigation.replay import registration_record
from kambin.tracking.frame import TrackingFrame
from kambin.tracking.source import TrackerSource, TrackerState
from kambin.video.sources import VideoSource, VideoState

# No new video frame for this long, or identical images for this long: "video frozen".
VIDEO_FROZEN_AFTER_S = 0.5
STATS_WINDOW = 600


@dataclass(frozen=True)
class Snapshot:
    """The result of one pipeline step, as the monitor shows it."""

    index: int
    acquired_s: float
    done_s: float
    overlay_rgb: np.ndarray
    guidance: Guidance
    scope_to_ct: np.ndarray | None


class Navigator:
    """Live navigation over one pipeline, one video source and one tracker source."""

    def __init__(self, pipeline: Pipeline, video: VideoSource, tracker: TrackerSource, scope: str = "scope",
                 metadata: dict | None = None, clock=time.monotonic):
        self.pipeline, self.video, self.tracker = pipeline, video, tracker
        self.scope = scope
        self.metadata = dict(metadata or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._incoming: list[TrackingFrame] = []
        self._actions: list = []
        self._latest: Snapshot | None = None
        self._last_tracking: TrackingFrame | None = None
        self._done_times: deque[float] = deque(maxlen=STATS_WINDOW)
        self._latency_ms: deque[float] = deque(maxlen=STATS_WINDOW)
        self._pipeline_ms: deque[float] = deque(maxlen=STATS_WINDOW)
        self._last_video_change_s: float | None = None
        self._last_signature: bytes | None = None
        self._running = False
        self._threads: list[threading.Thread] = []
        self.error: str | None = None
        self.recording_dir: str | None = None
        self.frames_processed = 0

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sources (one already started, e.g. a tracker connected to check its address,
        is used as it is) and the threads."""
        if self.tracker.state is TrackerState.READY:
            self.tracker.start()
        if self.video.state is VideoState.READY:
            self.video.start()
        self._running = True
        self._threads = [threading.Thread(target=self._track, name="tracker", daemon=True),
                         threading.Thread(target=self._navigate, name="pipeline", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._running = False
        for thread in self._threads:
            thread.join(timeout=5.0)
        self.stop_recording()
        self._apply_actions()
        self.tracker.stop()
        self.video.stop()

    def _track(self) -> None:
        while self._running:
            if self.tracker.state is not TrackerState.TRACKING:
                break  # a replayed recording has ended: tracking shows as lost from here on
            frame = self.tracker.get_frame(timeout_s=0.2)
            if frame is None:
                continue
            with self._lock:
                self._incoming.append(frame)
                self._last_tracking = frame

    def _navigate(self) -> None:
        try:
            while self._running:
                frame = self.video.read()
                if frame is None:
                    break
                self._apply_actions()
                with self._lock:
                    tracking, self._incoming = self._incoming, []
                values = self.pipeline.step(video_frame=frame, tracking_frames=tracking)
                done = self._clock()
                signature = frame.image_rgb[::37, ::41].tobytes()
                with self._lock:
                    if signature != self._last_signature:
                        self._last_signature, self._last_video_change_s = signature, done
                    self._latest = Snapshot(frame.index, frame.timestamp_s, done, values["overlay_rgb"],
                                            values["guidance"], values["scope_to_ct"])
                    self._done_times.append(done)
                    self._latency_ms.append((done - frame.timestamp_s) * 1000.0)
                    self._pipeline_ms.append(sum(self.pipeline.last_timings_ms.values()))
                    self.frames_processed += 1
        except Exception as error:  # the monitor must show a dead pipeline, not hang on it
            self.error = f"{type(error).__name__}: {error}"
            raise

    # -- controls -----------------------------------------------------------------------------
    def _queue(self, action) -> None:
        with self._lock:
            self._actions.append(action)
        if not self._running:
            self._apply_actions()

    def _apply_actions(self) -> None:
        with self._lock:
            actions, self._actions = self._actions, []
        for action in actions:
            action()

    def set_registration(self, registration: Registration) -> None:
        """Use a new registration from the next video frame on (recorded as an event)."""
        transforms = self.pipeline.operator(UpdateTransforms)
        record = self.pipeline.operator(Record)

        def apply() -> None:
            transforms.set_registration(registration)
            if record.writer is not None:
                record.writer.write(self._clock(), "event", **registration_record(registration))

        self._queue(apply)

    def start_recording(self, directory: str | os.PathLike) -> str:
        """Start writing the session to a new directory from the next video frame; returns its path."""
        record = self.pipeline.operator(Record)
        transforms = self.pipeline.operator(UpdateTransforms)
        metadata = {**self.metadata, "registration": registration_record(transforms.registration)}
        writer = SessionWriter(directory, metadata=metadata)
        self.recording_dir = str(directory)

        def apply() -> None:
            previous, record.writer = record.writer, writer
            # The registration in force when recording really starts (a queued change may have come first).
            writer.write(self._clock(), "event", **registration_record(transforms.registration))
            if previous is not None:
                previous.close()

        self._queue(apply)
        return str(directory)

    def stop_recording(self) -> None:
        record = self.pipeline.operator(Record)
        self.recording_dir = None

        def apply() -> None:
            writer, record.writer = record.writer, None
            if writer is not None:
                writer.close()

        self._queue(apply)

    # -- state ----------------------------------------------------------------------------------
    def latest(self) -> Snapshot | None:
        with self._lock:
            return self._latest

    def tracking_state(self, now_s: float | None = None) -> str:
        """"ok", or "lost" when the newest tracking frame has no valid scope pose or is older than
        `MAX_POSE_AGE_S` (no frames arriving)."""
        now = self._clock() if now_s is None else now_s
        with self._lock:
            frame = self._last_tracking
        if frame is None or now - frame.timestamp_s > MAX_POSE_AGE_S:
            return "lost"
        pose = frame.poses.get(self.scope)
        return "ok" if pose is not None and pose.is_valid else "lost"

    def video_state(self, now_s: float | None = None) -> str:
        now = self._clock() if now_s is None else now_s
        with self._lock:
            latest, changed = self._latest, self._last_video_change_s
        if latest is None:
            return "waiting"
        if self.video.state is VideoState.STOPPED and self._running:
            return "ended"  # a video file played to its end
        if now - latest.acquired_s > VIDEO_FROZEN_AFTER_S or (changed is not None and now - changed >
                                                               VIDEO_FROZEN_AFTER_S):
            return "frozen"
        return "live"

    def tool_drawn(self, now_s: float | None = None) -> bool:
        """Whether the tool may be drawn as live now: the latest guidance trusts its pose and the
        tracker still sees the scope."""
        latest = self.latest()
        return latest is not None and latest.guidance.drawable and self.tracking_state(now_s) == "ok"

    def status(self, now_s: float | None = None) -> dict:
        """The system's health as JSON-ready data (`/api/status`)."""
        now = self._clock() if now_s is None else now_s
        with self._lock:
            done = list(self._done_times)
            latency = np.array(self._latency_ms)
            pipeline_ms = np.array(self._pipeline_ms)
            latest = self._latest
        recent = [t for t in done if now - t <= 2.0]
        fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) >= 2 and recent[-1] > recent[0] else 0.0
        transforms = self.pipeline.operator(UpdateTransforms)
        registration = transforms.registration
        max_error = self.pipeline.operator(ComputeGuidance).model.alarms.max_registration_error_mm
        if not registration.registered:
            registration_state = "none"
        elif registration.error_mm is not None and registration.error_mm > max_error:
            registration_state = "poor"
        else:
            registration_state = "ok"
        tracking = self.tracking_state(now)
        video = self.video_state(now)
        tool_drawn = latest is not None and latest.guidance.drawable and tracking == "ok"
        alarms = []
        if video == "frozen":
            alarms.append("VIDEO FROZEN")
        elif video == "ended":
            alarms.append("VIDEO ENDED")
        if tracking == "lost":
            alarms.append("TRACKING LOST")
        if latest is not None:
            alarms += [a for a in latest.guidance.alarms if not a.startswith("tracking lost")]
        if self.error:
            alarms.append(f"pipeline stopped: {self.error}")

        def percentile(values: np.ndarray, q: float) -> float | None:
            return None if values.size == 0 else round(float(np.percentile(values, q)), 2)

        return {
            "fps": round(fps, 1),
            "frames": self.frames_processed,
            "latency_ms": {"p50": percentile(latency, 50), "p99": percentile(latency, 99)},
            "pipeline_ms": {"p50": percentile(pipeline_ms, 50), "p99": percentile(pipeline_ms, 99)},
            "tracking": tracking,
            "registration": {"state": registration_state, "error_mm": registration.error_mm,
                             "method": registration.method},
            "video": video,
            "guidance_state": None if latest is None else latest.guidance.state,
            "tool_drawn": tool_drawn,
            # The numbers only while the tool may be drawn: a lost or unregistered pose has none.
            "guidance": guidance_fields(latest.guidance) if tool_drawn else None,
            "alarms": alarms,
            "recording": self.recording_dir,
            "disclaimer": DISCLAIMER,
        }

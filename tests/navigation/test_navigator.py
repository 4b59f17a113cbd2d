"""The live navigator on the simulated operating room, in real time: health in /api/status's shape,
a tracker dropout shown as lost at once, and a frozen camera shown as frozen (the fault is injected
by a fake camera, named so)."""

import time

import numpy as np
import pytest

from helpers import wait_until
from kambin.navigation import simulation as sim
from kambin.navigation.navigator import VIDEO_FROZEN_AFTER_S, Navigator
from kambin.navigation.pipeline import compose_navigation
from kambin.navigation.recording import read_session
from kambin.render.endoscope import EndoscopeCamera
from kambin.video.sources import VideoSource

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

SIZE = (320, 180)


class FakeFreezableCamera(VideoSource):
    """Fault injection: a 30 Hz camera whose picture changes every frame until `frozen` is set, then
    repeats its last image (fresh timestamps), as a stuck frame grabber does."""

    def __init__(self):
        super().__init__()
        self.frozen = False
        self._n = 0

    def _open(self) -> None:
        self._next = time.monotonic()

    def _grab(self):
        self._next += 1 / 30
        time.sleep(max(0.0, self._next - time.monotonic()))
        if not self.frozen:
            self._n += 1
        image = np.full((SIZE[1], SIZE[0], 3), self._n % 250, np.uint8)
        return image, time.monotonic()

    def _close(self) -> None:
        pass


def test_live_health_dropout_frozen_video_and_recording(case, tmp_path):
    script = sim.ScopeScript(case)
    tracker = sim.OperatingRoomTracker(script, sim.reference_position(case), realtime=True)
    camera = EndoscopeCamera.create(*SIZE)
    pipeline = compose_navigation(sim.guidance_model(case), sim.overlay_for(case, camera.intrinsics,
                                                                            camera.camera_to_scope),
                                  tracker.registration())
    video = FakeFreezableCamera()
    navigator = Navigator(pipeline, video, tracker, metadata={"test": True})
    navigator.start()
    try:
        wait_until(lambda: navigator.frames_processed >= 30, 20, "30 frames")
        status = navigator.status()
        assert status["tracking"] == "ok" and status["video"] == "live" and status["tool_drawn"]
        assert status["registration"]["state"] == "ok" and status["fps"] > 10
        assert status["latency_ms"]["p50"] < status["latency_ms"]["p99"] + 1e-9
        navigator.start_recording(tmp_path / "session")

        tracker.force_dropout(True)
        dropped_at = time.monotonic()
        wait_until(lambda: navigator.tracking_state() == "lost", 1.0, "tracking lost")
        assert time.monotonic() - dropped_at < 0.1
        assert "TRACKING LOST" in navigator.status()["alarms"] and not navigator.tool_drawn()
        tracker.force_dropout(False)
        wait_until(lambda: navigator.tool_drawn(), 2.0, "the tool back")

        video.frozen = True
        frozen_at = time.monotonic()
        wait_until(lambda: navigator.status()["video"] == "frozen", 3.0, "video frozen")
        assert time.monotonic() - frozen_at < VIDEO_FROZEN_AFTER_S + 0.3
        assert "VIDEO FROZEN" in navigator.status()["alarms"]
    finally:
        navigator.stop()
    header, records = read_session(tmp_path / "session")
    kinds = {r.kind for r in records}
    assert header["test"] is True and header["registration"]["error_mm"] == sim.REGISTRATION_ERROR_MM
    assert kinds == {"pose", "video", "guidance", "event"}  # the event: the registration in force

"""The tracker state machine, and fault detection with faults injected by a fake source."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.errors import InvalidInputError
from kambin.geometry.graph import TransformGraph
from kambin.geometry.transforms import from_axis_angle
from kambin.tracking import FaultMonitor, ToolPose, TrackerSource, TrackerState, TrackerStateError, TrackingFrame
from kambin.tracking.frame import nan_pose


class FaultInjectingFakeSource(TrackerSource):
    """A fake tracker that replays a scripted list of (timestamp, pose or fault) for one tool.

    Each script entry is (timestamp_s, kind) where kind is "ok" (a fresh noisy pose), "missing"
    (tool out of view), "nan", "shear", "repeat" (the previous matrix again, bit for bit).
    """

    def __init__(self, script, **kwargs):
        super().__init__(("pointer",), **kwargs)
        self.script = list(script)
        self.rng = np.random.default_rng(0)
        self.previous = np.eye(4)
        self.opened = self.closed = False

    def _open(self):
        self.opened = True

    def _close(self):
        self.closed = True

    def _acquire(self, timeout_s):
        if not self.script:
            self._end_of_stream()
            return None
        t, kind = self.script.pop(0)
        index = self.frames_delivered
        if kind == "missing":
            return TrackingFrame(t, {"pointer": ToolPose.missing("pointer")}, index)
        if kind == "repeat":
            matrix = self.previous.copy()
        else:
            matrix = from_axis_angle(self.rng.normal(0, 0.01, 3), self.rng.normal(0, 0.2, 3) + [0, 0, -1000])
            self.previous = matrix
        if kind == "nan":
            matrix = matrix.copy()
            matrix[1, 2] = np.nan
        elif kind == "shear":
            matrix = matrix.copy()
            matrix[0, 1] += 0.05
        return TrackingFrame(t, {"pointer": ToolPose("pointer", matrix, "ok")}, index)


def _run(script, **kwargs):
    source = FaultInjectingFakeSource(script, **kwargs)
    frames = []
    with source:
        while source.state is TrackerState.TRACKING and (frame := source.get_frame()) is not None:
            frames.append(frame)
    return source, frames


def test_state_machine():
    source = FaultInjectingFakeSource([(0.0, "ok")])
    assert source.state is TrackerState.READY
    with pytest.raises(TrackerStateError, match="ready; call start"):
        source.get_frame()
    source.start()
    assert source.state is TrackerState.TRACKING and source.opened
    with pytest.raises(TrackerStateError, match="only a ready source can start"):
        source.start()
    assert source.get_frame().poses["pointer"].status == "ok"
    assert source.get_frame() is None  # end of script: the source stops itself
    assert source.state is TrackerState.STOPPED and source.closed
    source.stop()  # harmless
    with pytest.raises(TrackerStateError, match="stopped"):
        source.start()
    unused = FaultInjectingFakeSource([])
    unused.stop()
    assert unused.state is TrackerState.STOPPED and not unused.closed


def test_clean_stream_passes_untouched():
    _, frames = _run([(i * 0.02, "ok") for i in range(50)])
    assert all(f.poses["pointer"].status == "ok" and not f.faults for f in frames)
    assert all(f.quality == 1.0 for f in frames)


def test_tool_out_of_view_is_reported_and_not_valid():
    source, frames = _run([(0.0, "ok"), (0.02, "missing"), (0.04, "ok")])
    assert frames[1].poses["pointer"].status == "missing" and frames[1].valid_pose("pointer") is None
    assert frames[1].quality == 0.0
    assert any("pointer missing" in line for line in source.faults)
    assert frames[2].valid_pose("pointer") is not None


@pytest.mark.parametrize(("kind", "expected"), [("nan", "NaN"), ("shear", "not rigid")])
def test_nan_and_non_rigid_poses_are_invalid(kind, expected):
    source, frames = _run([(0.0, "ok"), (0.02, kind), (0.04, "ok")])
    bad = frames[1].poses["pointer"]
    assert bad.status == "invalid" and expected in bad.reason
    assert frames[1].valid_pose("pointer") is None
    assert any(expected in line for line in frames[1].faults)
    assert frames[2].poses["pointer"].status == "ok"


def test_frozen_stream_is_stale():
    script = [(0.0, "ok")] + [(0.02 * i, "repeat") for i in range(1, 30)] + [(0.62, "ok")]
    source, frames = _run(script)
    statuses = [f.poses["pointer"].status for f in frames]
    # Identical for >= 0.25 s (13 frames at 50 Hz) -> stale from then on, until the pose moves.
    assert statuses[:12] == ["ok"] * 12
    assert set(statuses[13:30]) == {"stale"}
    assert statuses[30] == "ok"
    assert any("frozen" in line for line in source.faults)
    # The check can be switched off for noise-free simulations.
    _, frames = _run(script, monitor=FaultMonitor(frozen_after_s=None))
    assert all(f.poses["pointer"].status == "ok" for f in frames)


def test_timestamps_going_backwards_or_repeating_invalidate_the_frame():
    source, frames = _run([(1.0, "ok"), (1.02, "ok"), (0.5, "ok"), (1.02, "ok"), (1.04, "ok")])
    assert frames[2].poses["pointer"].status == "invalid" and "backwards" in frames[2].faults[0]
    assert frames[3].poses["pointer"].status == "stale" and "did not advance" in frames[3].faults[0]
    assert frames[4].poses["pointer"].status == "ok"


def test_frames_need_a_finite_timestamp_and_known_status():
    with pytest.raises(InvalidInputError, match="timestamp"):
        TrackingFrame(float("nan"), {})
    with pytest.raises(InvalidInputError, match="status"):
        ToolPose("pointer", np.eye(4), "fine")


def test_frame_updates_the_transform_graph():
    graph = TransformGraph()
    pose = from_axis_angle([0, 0, 0.3], [1, 2, 3])
    TrackingFrame(1.0, {"pointer": ToolPose("pointer", pose, "ok", error_mm=0.1)}).update_graph(graph)
    derived = graph.get("pointer", "tracker")
    assert np.allclose(derived.matrix, pose) and derived.is_valid and derived.timestamp_s == 1.0
    TrackingFrame(2.0, {"pointer": ToolPose("pointer", nan_pose(), "missing")}).update_graph(graph)
    derived = graph.get("pointer", "tracker")
    assert derived.status == "missing" and not derived.is_valid

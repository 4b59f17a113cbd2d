"""OpenIGTLink round trips on loopback (127.0.0.1, a free port, every wait bounded)."""

from __future__ import annotations

import time

import numpy as np
import pyigtl
import pytest

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_axis_angle
from kambin.tracking import ToolPose, TrackingFrame
from kambin.tracking.igtl import IgtlPoseServer, IgtlTrackerSource, TrackerConnectionError

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _collect(source, n_poses, tool, timeout_s=5.0):
    poses, frames = [], []
    deadline = time.monotonic() + timeout_s
    while len(poses) < n_poses and time.monotonic() < deadline:
        frame = source.get_frame(timeout_s=0.2)
        if frame is not None and tool in frame.poses:
            frames.append(frame)
            poses.append(frame.poses[tool])
    return poses, frames


def test_kambin_server_to_kambin_client():
    rng = np.random.default_rng(0)
    with IgtlPoseServer(port=0) as server:
        source = IgtlTrackerSource(port=server.port, connect_timeout_s=5.0)
        with source:
            assert server.wait_for_client(5.0)
            sent = []
            for _ in range(5):
                pose = from_axis_angle(rng.normal(0, 0.5, 3), rng.normal(0, 100, 3))
                sent.append(pose)
                frame = TrackingFrame(
                    time.monotonic(), {"pointer": ToolPose("pointer", pose, "ok"), "scope": ToolPose.missing("scope")}
                )
                assert server.send_frame(frame) == 1  # the missing scope is not sent
                server.flush()
                received, frames = _collect(source, 1, "pointer")
                assert received and received[0].status == "ok"
                # TRANSFORM travels as float32: equal to float32 precision.
                assert np.allclose(received[0].tool_to_tracker, pose, atol=1e-4 * max(1, np.abs(pose).max()))
                assert frames[0].source_timestamp_s is not None
            # POSITION (protocol layout: x y z, ox oy oz w).
            pose = from_axis_angle([0.2, -0.1, 0.4], [10.0, -20.0, 30.0])
            server.send_transform("PointerToTracker", pose, as_position=True)
            server.flush()
            received, _ = _collect(source, 1, "pointer")
            assert np.allclose(received[0].tool_to_tracker, pose, atol=1e-4)


def test_plain_pyigtl_peers():
    """kambin's client reads a plain pyigtl server; a plain pyigtl client reads kambin's server."""
    server = pyigtl.OpenIGTLinkServer(port=_free_port(), local_server=True)
    try:
        source = IgtlTrackerSource(port=server.port, tools=("stylus",), stale_after_s=0.3)
        with source:
            deadline = time.monotonic() + 5
            while not server.is_connected() and time.monotonic() < deadline:
                time.sleep(0.01)
            pose = from_axis_angle([0.0, 0.3, 0.0], [1.0, 2.0, 3.0])
            server.send_message(pyigtl.TransformMessage(pose, device_name="StylusToTracker"), wait=True)
            received, _ = _collect(source, 1, "stylus")
            assert received[0].status == "ok" and np.allclose(received[0].tool_to_tracker, pose, atol=1e-5)
            # pyigtl's own POSITION layout is accepted too.
            server.send_message(
                pyigtl.PositionMessage(
                    positions=[4.0, 5.0, 6.0], quaternions=[0.0, 0.0, 0.0, 1.0], device_name="StylusToTracker"
                ),
                wait=True,
            )
            received, _ = _collect(source, 1, "stylus")
            assert np.allclose(received[0].tool_to_tracker[:3, 3], [4, 5, 6])
            # A sender timestamp going backwards invalidates the pose.
            server.send_message(
                pyigtl.TransformMessage(pose, device_name="StylusToTracker", timestamp=time.time() - 100), wait=True
            )
            received, frames = _collect(source, 1, "stylus")
            assert received[0].status == "invalid" and "backwards" in frames[0].faults[0]
            # Nothing more: the stylus goes missing after stale_after_s.
            time.sleep(0.4)
            frame = source.get_frame(timeout_s=0.1)
            assert frame is not None and frame.poses["stylus"].status == "missing"
            # A non-rigid matrix from the peer is refused.
            bad = np.eye(4)
            bad[0, 0] = 2.0
            server.send_message(pyigtl.TransformMessage(bad, device_name="StylusToTracker"), wait=True)
            received, _ = _collect(source, 1, "stylus")
            assert received[0].status == "invalid" and "not rigid" in received[0].reason
    finally:
        server.stop()

    with IgtlPoseServer(port=0) as kambin_server:
        client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=kambin_server.port)
        try:
            assert kambin_server.wait_for_client(5.0)
            pose = from_axis_angle([0.1, 0.2, 0.3], [7.0, 8.0, 9.0])
            kambin_server.send_transform("PointerToTracker", pose)
            message = client.wait_for_message("PointerToTracker", timeout=5)
            assert message is not None and np.allclose(message.matrix, pose, atol=1e-5)
        finally:
            client.stop()


def test_connection_errors_and_bad_input():
    start = time.monotonic()
    with pytest.raises(TrackerConnectionError, match="no OpenIGTLink server"):
        IgtlTrackerSource(port=_free_port(), connect_timeout_s=0.3).start()
    assert time.monotonic() - start < 3
    with pytest.raises(InvalidInputError, match="port"):
        IgtlTrackerSource(port=70000)
    with IgtlPoseServer(port=0) as server:
        bad = np.eye(4)
        bad[2, 2] = np.nan
        with pytest.raises(InvalidInputError, match="NaN"):
            server.send_transform("PointerToTracker", bad)
        with pytest.raises(InvalidInputError, match="StylusToTracker"):
            server.send_transform("pointer", np.eye(4))

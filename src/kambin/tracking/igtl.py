"""OpenIGTLink: a tracker source that listens to a PLUS server or 3D Slicer, and a pose server.

`IgtlTrackerSource` connects as a client and turns TRANSFORM and POSITION messages named
`<Tool>To<Tracker>` (the PLUS and Slicer convention) into `TrackingFrame`s. `IgtlPoseServer`
listens on a port and sends kambin's poses as TRANSFORM (or POSITION) messages, so 3D Slicer's
OpenIGTLinkIF module can show them. Both use pyigtl (optional extra `igtl`).

Timestamps: a frame is stamped with `time.monotonic()` when its messages are taken from the
socket; the sender's header timestamp (seconds since 1970 on the sender's clock, which need not
agree with ours) is kept as `source_timestamp_s`. A header timestamp that goes backwards is
caught by the fault monitor through `source_timestamp_s` (see `_acquire`).

POSITION: OpenIGTLink's POSITION body is X Y Z (float32) then the quaternion OX OY OZ W
(OpenIGTLink protocol v2/v3, "POSITION"). pyigtl 0.3.2 decodes POSITION with a different,
POINT-like layout (152 bytes per item), so this module registers a decoder for the protocol's
layout that also accepts pyigtl's, and sends the protocol's layout.

References
----------
J. Tokuda et al., "OpenIGTLink: an open network protocol for image-guided therapy environment",
Int J Med Robot 5(4):423-434, 2009. doi:10.1002/rcs.274
"""

from __future__ import annotations

import struct
import time

import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_quaternion, to_quaternion
from kambin.tracking.faults import pose_fault
from kambin.tracking.frame import ToolPose, TrackingFrame, nan_pose
from kambin.tracking.plus import frame_to_camel, split_transform_name
from kambin.tracking.source import TrackerConnectionError, TrackerSource

try:
    import pyigtl
    import pyigtl.messages
except ImportError:  # pragma: no cover - exercised only without the extra
    pyigtl = None


def _require_pyigtl() -> None:
    if pyigtl is None:
        raise InvalidInputError("OpenIGTLink needs pyigtl: pip install 'kambin[igtl]'")


if pyigtl is not None:

    class ProtocolPositionMessage(pyigtl.PositionMessage):
        """POSITION with the OpenIGTLink protocol's body: X Y Z, OX OY OZ W as big-endian float32.

        Decoding also accepts pyigtl's own 152-byte layout, so plain pyigtl peers still work.
        """

        def _pack_content(self):
            position = np.asarray(self.positions, dtype=np.float64).reshape(-1, 3)[0]
            quaternion = np.asarray(self.quaternions, dtype=np.float64).reshape(-1, 4)[0]
            return struct.pack(">3f4f", *position, *quaternion)

        def _unpack_content(self, content):
            if len(content) in (12, 24, 28):
                values = struct.unpack(f">{len(content) // 4}f", content)
                position = values[:3]
                if len(values) == 3:
                    quaternion = (0.0, 0.0, 0.0, 1.0)
                elif len(values) == 6:  # the protocol's 'W omitted' form: W = sqrt(1 - |v|^2)
                    v = np.array(values[3:6])
                    quaternion = (*v, float(np.sqrt(max(0.0, 1.0 - v @ v))))
                else:
                    quaternion = values[3:7]
                self.positions, self.quaternions = [tuple(position)], [tuple(quaternion)]
                self.names, self.groups, self.owners = [""], [""], [""]
                self.rgba_colors, self.diameters = [(255, 255, 0, 255)], [0.0]
            else:
                super()._unpack_content(content)

    pyigtl.messages.message_type_to_class_constructor["POSITION"] = ProtocolPositionMessage


def _message_pose(message) -> tuple[np.ndarray, str]:
    """(4x4 pose, fault text) from a TRANSFORM or POSITION message."""
    if message.message_type == "TRANSFORM":
        matrix = np.asarray(message.matrix, dtype=np.float64)
    else:
        if not message.positions:
            return nan_pose(), "POSITION message holds no position"
        x, y, z, w = (float(v) for v in message.quaternions[0])
        q = np.array([w, x, y, z])
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or abs(norm - 1.0) > 1e-3:
            return nan_pose(), f"POSITION quaternion has norm {norm:.4f}, not 1"
        matrix = from_quaternion(q / norm, np.asarray(message.positions[0], dtype=np.float64))
    return matrix, pose_fault(matrix)


class IgtlTrackerSource(TrackerSource):
    """Tracker source fed by an OpenIGTLink server (PLUS Server, 3D Slicer, another kambin).

    Args:
        host, port: the server (PLUS Server's default port is 18944).
        tools: names of tools to expect (kambin frame names, e.g. "stylus"); a tool that sends
            nothing for `stale_after_s` appears as "missing". Default: whatever arrives.
        tracker_frame: only `<Tool>To<TrackerFrame>` messages become poses.
        connect_timeout_s: how long `start()` waits for the connection.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 18944,
        tools: tuple[str, ...] = (),
        tracker_frame: str = "tracker",
        stale_after_s: float = 0.5,
        connect_timeout_s: float = 5.0,
        **kwargs,
    ):
        _require_pyigtl()
        if not 0 < port < 65536:
            raise InvalidInputError(f"port must be 1-65535, got {port}")
        super().__init__(tuple(tools), **kwargs)
        self.host, self.port = host, port
        self.tracker_frame = tracker_frame
        self.stale_after_s = stale_after_s
        self.connect_timeout_s = connect_timeout_s
        self._client = None
        self._last_seen: dict[str, float] = {}
        self._last_source_time: float | None = None

    def _open(self) -> None:
        self._client = pyigtl.OpenIGTLinkClient(host=self.host, port=self.port, start_now=True)
        deadline = time.monotonic() + self.connect_timeout_s
        while not self._client.is_connected():
            if time.monotonic() > deadline:
                self._client.stop()
                raise TrackerConnectionError(
                    f"no OpenIGTLink server at {self.host}:{self.port} after {self.connect_timeout_s:g} s; "
                    "start PLUS Server or Slicer's OpenIGTLinkIF connector, or check the port"
                )
            time.sleep(0.005)
        self._last_seen = {tool: time.monotonic() for tool in self.tools}

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        deadline = time.monotonic() + timeout_s
        while True:
            messages = [m for m in self._client.get_latest_messages() if m.message_type in ("TRANSFORM", "POSITION")]
            if messages or time.monotonic() >= deadline:
                break
            time.sleep(0.002)
        now = time.monotonic()
        poses: dict[str, ToolPose] = {}
        source_times = []
        for message in messages:
            try:
                tool, target = split_transform_name(message.device_name)
            except InvalidInputError:
                continue
            if target != self.tracker_frame:
                continue
            matrix, fault = _message_pose(message)
            status_text = message.metadata.get("TransformStatus", "OK") if message.metadata else "OK"
            if fault:
                poses[tool] = ToolPose(tool, matrix, "invalid", None, fault)
            elif status_text.upper() != "OK":
                poses[tool] = ToolPose(tool, nan_pose(), "missing", None, f"sender status {status_text}")
            else:
                poses[tool] = ToolPose(tool, matrix, "ok")
            self._last_seen[tool] = now
            source_times.append(float(message.timestamp))
        for tool, seen in self._last_seen.items():
            if tool not in poses and now - seen > self.stale_after_s:
                poses[tool] = ToolPose.missing(tool, f"no message for {now - seen:.2f} s")
        if not poses:
            return None
        source_time = max(source_times) if source_times else None
        frame = TrackingFrame(now, poses, self.frames_delivered, source_time)
        if source_time is not None and self._last_source_time is not None and source_time < self._last_source_time:
            message = (
                f"frame {frame.index}: sender timestamp went backwards by {self._last_source_time - source_time:.6f} s"
            )
            frame = TrackingFrame(
                now,
                {n: p.with_status("invalid", message) if p.is_valid else p for n, p in poses.items()},
                frame.index,
                source_time,
                (message,),
            )
        if source_time is not None:
            self._last_source_time = max(source_time, self._last_source_time or source_time)
        return frame

    def _close(self) -> None:
        if self._client is not None:
            self._client.stop()
            self._client = None


class IgtlPoseServer:
    """Sends kambin's poses to OpenIGTLink clients (3D Slicer's OpenIGTLinkIF, PLUS, kambin).

    Binds to 127.0.0.1 unless `local_only=False`; `port=0` picks a free port (read `.port`).
    Only valid poses are sent: a missing or invalid pose is simply not sent, which Slicer shows
    as a transform that stops updating.
    """

    def __init__(self, port: int = 18944, local_only: bool = True):
        _require_pyigtl()
        if not 0 <= port < 65536:
            raise InvalidInputError(f"port must be 0-65535, got {port}")
        try:
            self._server = pyigtl.OpenIGTLinkServer(port=port, local_server=local_only, start_now=True)
        except OSError as error:
            raise TrackerConnectionError(
                f"cannot listen on port {port}: {error.strerror}; choose another port"
            ) from None
        self.port = int(self._server.server_address[1])
        self.sent = 0

    def wait_for_client(self, timeout_s: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self._server.is_connected():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def send_transform(
        self, name: str, matrix: np.ndarray, as_position: bool = False, timestamp: float | None = None
    ) -> None:
        """Send one transform named like `PointerToTracker` (TRANSFORM, or POSITION if asked)."""
        split_transform_name(name)
        problem = pose_fault(matrix)
        if problem:
            raise InvalidInputError(f"{name}: {problem}; only valid poses are sent")
        stamp = time.time() if timestamp is None else timestamp
        if as_position:
            q, t = to_quaternion(matrix)
            message = ProtocolPositionMessage(
                positions=[t.tolist()], quaternions=[[q[1], q[2], q[3], q[0]]], device_name=name, timestamp=stamp
            )
        else:
            message = pyigtl.TransformMessage(np.asarray(matrix), device_name=name, timestamp=stamp)
        self._server.send_message(message, wait=False)
        self.sent += 1

    def send_frame(self, frame: TrackingFrame, tracker_frame: str = "tracker", as_position: bool = False) -> int:
        """Send every valid pose of a frame as `<Tool>To<Tracker>`; returns how many were sent."""
        count = 0
        for pose in frame.poses.values():
            if pose.is_valid:
                name = f"{frame_to_camel(pose.tool)}To{frame_to_camel(tracker_frame)}"
                self.send_transform(name, pose.tool_to_tracker, as_position)
                count += 1
        return count

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait until queued messages have been written to the socket."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._server.lock_outgoing_messages:
                if not self._server.outgoing_messages:
                    return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        self._server.stop()

    def __enter__(self) -> IgtlPoseServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

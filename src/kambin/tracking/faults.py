"""Fault detection on a tracking stream: bad poses are marked, never passed on as valid.

Every source runs its frames through a `FaultMonitor`, which checks, per frame:
- the timestamp moved forward (a backwards or repeated timestamp invalidates the whole frame);
- each pose claimed "ok" is finite and rigid (NaN, shear, scale or reflection -> "invalid");
- each pose claimed "ok" changed within `frozen_after_s` (a real tracker's noise makes two
  measured poses differ in the last bits; identical poses for longer mean a frozen stream or a
  device repeating its last value -> "stale");
- tools out of view ("missing") are reported.
Each fault is a line in the frame's `faults` and in the monitor's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from kambin.geometry.transforms import is_rigid
from kambin.tracking.frame import ToolPose, TrackingFrame

# Tracker matrices often travel as float32 (OpenIGTLink, NDI): rigid to about 1e-6, so allow 1e-4.
POSE_RIGID_TOLERANCE = 1e-4


def pose_fault(matrix: np.ndarray, tolerance: float = POSE_RIGID_TOLERANCE) -> str:
    """Why `matrix` is not a usable pose ("" if it is)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        return f"pose has shape {m.shape}, not 4x4"
    if not np.all(np.isfinite(m)):
        return "pose contains NaN or infinite values"
    if not is_rigid(m, tolerance):
        r = m[:3, :3]
        return (
            f"pose is not rigid (orthogonality error {np.abs(r.T @ r - np.eye(3)).max():.2e}, "
            f"det {np.linalg.det(r):.4f})"
        )
    return ""


@dataclass
class FaultMonitor:
    """Stateful checks across the frames of one stream.

    Attributes:
        frozen_after_s: a pose bitwise identical for at least this long (and at least
            `frozen_min_frames` frames) is "stale"; None disables the check (noise-free simulation).
        frozen_min_frames: see above.
        log: every fault line seen, oldest first (bounded to `max_log`).
    """

    frozen_after_s: float | None = 0.25
    frozen_min_frames: int = 3
    max_log: int = 1000
    log: list[str] = field(default_factory=list)
    _last_timestamp: float | None = None
    _last_matrix: dict[str, np.ndarray] = field(default_factory=dict)
    _unchanged_since: dict[str, float] = field(default_factory=dict)
    _unchanged_count: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self._last_timestamp = None
        self._last_matrix.clear()
        self._unchanged_since.clear()
        self._unchanged_count.clear()

    def check(self, frame: TrackingFrame) -> TrackingFrame:
        """Return `frame` with faulty poses re-labelled and its `faults` filled in."""
        faults = list(frame.faults)
        poses = dict(frame.poses)
        t = frame.timestamp_s
        if self._last_timestamp is not None and t <= self._last_timestamp:
            kind = "went backwards" if t < self._last_timestamp else "did not advance"
            message = f"frame {frame.index}: timestamp {kind} ({t:.6f} s after {self._last_timestamp:.6f} s)"
            faults.append(message)
            status = "invalid" if t < self._last_timestamp else "stale"
            poses = {name: p.with_status(status, message) if p.is_valid else p for name, p in poses.items()}
            return self._record(replace(frame, poses=poses, faults=tuple(faults)))
        self._last_timestamp = t
        for name, pose in frame.poses.items():
            poses[name] = self._check_pose(pose, t, faults, frame.index)
        return self._record(replace(frame, poses=poses, faults=tuple(faults)))

    def _check_pose(self, pose: ToolPose, t: float, faults: list[str], index: int) -> ToolPose:
        if not pose.is_valid:
            faults.append(f"frame {index}: {pose.tool} {pose.status}" + (f" ({pose.reason})" if pose.reason else ""))
            self._forget(pose.tool)
            return pose
        problem = pose_fault(pose.tool_to_tracker)
        if problem:
            faults.append(f"frame {index}: {pose.tool} invalid: {problem}")
            self._forget(pose.tool)
            return pose.with_status("invalid", problem)
        if self.frozen_after_s is not None:
            previous = self._last_matrix.get(pose.tool)
            if previous is not None and np.array_equal(previous, pose.tool_to_tracker):
                self._unchanged_count[pose.tool] += 1
                held_s = t - self._unchanged_since[pose.tool]
                if held_s >= self.frozen_after_s and self._unchanged_count[pose.tool] >= self.frozen_min_frames:
                    problem = f"pose frozen: identical for {self._unchanged_count[pose.tool]} frames ({held_s:.2f} s)"
                    faults.append(f"frame {index}: {pose.tool} stale: {problem}")
                    return pose.with_status("stale", problem)
            else:
                self._last_matrix[pose.tool] = pose.tool_to_tracker.copy()
                self._unchanged_since[pose.tool] = t
                self._unchanged_count[pose.tool] = 1
        return pose

    def _forget(self, tool: str) -> None:
        self._last_matrix.pop(tool, None)
        self._unchanged_since.pop(tool, None)
        self._unchanged_count.pop(tool, None)

    def _record(self, frame: TrackingFrame) -> TrackingFrame:
        self.log.extend(frame.faults)
        del self.log[: max(0, len(self.log) - self.max_log)]
        return frame

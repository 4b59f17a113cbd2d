"""`ToolPose` and `TrackingFrame`: what every tracker source delivers.

A frame is stamped with `time.monotonic()` at acquisition (DESIGN.md: a pose without a timestamp
does not exist); each tool in it has a pose `tool_to_tracker` and a status from
`kambin.geometry.graph.STATUSES`. Only a pose whose status is "ok" (or "estimated") may be used;
the others keep their matrix for diagnosis only, or hold NaN when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.graph import STATUSES, TransformGraph

VALID_STATUSES = ("ok", "estimated")


def nan_pose() -> np.ndarray:
    """The placeholder matrix of a pose that was not measured."""
    return np.full((4, 4), np.nan)


@dataclass(frozen=True)
class ToolPose:
    """One tool's pose in one frame.

    Attributes:
        tool: tool name (lower-case frame name, e.g. "pointer").
        tool_to_tracker: 4x4 float64; NaN when the tool was not seen.
        status: one of kambin.geometry.graph.STATUSES.
        error_mm: the device's own quality figure (marker fit RMS, reprojection error mapped to
            mm, ...) when it gives one, else None.
        reason: why the status is not "ok" ("" when it is).
    """

    tool: str
    tool_to_tracker: np.ndarray
    status: str
    error_mm: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidInputError(f"pose status must be one of {STATUSES}, not {self.status!r}")
        object.__setattr__(self, "tool_to_tracker", np.asarray(self.tool_to_tracker, dtype=np.float64))

    @property
    def is_valid(self) -> bool:
        return self.status in VALID_STATUSES

    def with_status(self, status: str, reason: str) -> ToolPose:
        return replace(self, status=status, reason=reason)

    @classmethod
    def missing(cls, tool: str, reason: str = "tool out of view") -> ToolPose:
        return cls(tool, nan_pose(), "missing", None, reason)


@dataclass(frozen=True)
class TrackingFrame:
    """All tools' poses at one acquisition instant.

    Attributes:
        timestamp_s: time.monotonic() seconds at acquisition.
        poses: tool name -> ToolPose.
        index: frame counter of the source (0, 1, ...).
        source_timestamp_s: the device's own timestamp (PLUS, OpenIGTLink header) if any.
        faults: one line per fault detected in this frame (empty when clean).
    """

    timestamp_s: float
    poses: dict[str, ToolPose]
    index: int = 0
    source_timestamp_s: float | None = None
    faults: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not np.isfinite(self.timestamp_s):
            raise InvalidInputError(f"a tracking frame needs a finite timestamp, got {self.timestamp_s}")

    @property
    def quality(self) -> float:
        """Fraction of the frame's tools with a valid pose (1.0 all seen, 0.0 none)."""
        if not self.poses:
            return 0.0
        return sum(p.is_valid for p in self.poses.values()) / len(self.poses)

    def pose(self, tool: str) -> ToolPose:
        if tool not in self.poses:
            raise InvalidInputError(
                f"no tool {tool!r} in this frame (tools: {', '.join(sorted(self.poses)) or 'none'})"
            )
        return self.poses[tool]

    def valid_pose(self, tool: str) -> np.ndarray | None:
        """`tool_to_tracker` if that pose is valid, else None."""
        pose = self.poses.get(tool)
        return pose.tool_to_tracker if pose is not None and pose.is_valid else None

    def update_graph(self, graph: TransformGraph, tracker_frame: str = "tracker") -> None:
        """Write every tool's pose into `graph` as edge tool -> tracker, with its status and time."""
        for pose in self.poses.values():
            if pose.is_valid:
                graph.set(pose.tool, tracker_frame, pose.tool_to_tracker, self.timestamp_s, pose.status, pose.error_mm)
            elif graph.has(pose.tool, tracker_frame):
                graph.mark(pose.tool, tracker_frame, pose.status, self.timestamp_s)
            else:
                graph.set(pose.tool, tracker_frame, np.eye(4), self.timestamp_s, pose.status)

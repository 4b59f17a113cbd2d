"""Tracker sources behind one interface, tool definitions, and `TrackingFrame`s.

Sources: `SimulatedTracker` (scripted paths, optical-tracker noise, latency, jitter, dropouts),
`ArucoTracker` (markers and boards seen by a calibrated camera), `PlusReplaySource` (PLUS
`.igs.mha` recordings), `IgtlTrackerSource` (OpenIGTLink client, e.g. a PLUS server or 3D Slicer),
and `NdiTracker` (NDI Polaris/Aurora via the optional `ndi` extra). `IgtlPoseServer` sends
kambin's poses to 3D Slicer.
"""

from kambin.tracking.faults import FaultMonitor, pose_fault
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.plus import (
    PlusFrame,
    PlusReplaySource,
    PlusSequence,
    read_plus_sequence,
    sequence_from_frames,
    write_plus_sequence,
)
from kambin.tracking.simulated import NoiseModel, SimulatedTracker, ToolPath
from kambin.tracking.source import TrackerConnectionError, TrackerSource, TrackerState, TrackerStateError
from kambin.tracking.tools import ArucoGridBoard, ArucoMarker, ToolDefinition, load_tools, tool_from_dict

__all__ = [
    "ArucoGridBoard",
    "ArucoMarker",
    "FaultMonitor",
    "NoiseModel",
    "SimulatedTracker",
    "ToolPath",
    "TrackerConnectionError",
    "PlusFrame",
    "PlusReplaySource",
    "PlusSequence",
    "ToolDefinition",
    "ToolPose",
    "TrackerSource",
    "TrackerState",
    "TrackerStateError",
    "TrackingFrame",
    "load_tools",
    "pose_fault",
    "read_plus_sequence",
    "sequence_from_frames",
    "tool_from_dict",
    "write_plus_sequence",
]

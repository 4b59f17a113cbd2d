"""Video sources behind one interface: capture devices and streams, video files, and the simulated
endoscope rendered from the synthetic patient. Every frame is stamped at acquisition."""

from kambin.video.frame import VideoFrame
from kambin.video.sources import (
    CaptureSource,
    FileSource,
    SimulatedEndoscopeSource,
    VideoConnectionError,
    VideoSource,
    VideoState,
    VideoStateError,
)

__all__ = [
    "CaptureSource",
    "FileSource",
    "SimulatedEndoscopeSource",
    "VideoConnectionError",
    "VideoFrame",
    "VideoSource",
    "VideoState",
    "VideoStateError",
]

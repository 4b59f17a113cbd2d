"""Video sources behind one interface: capture devices and streams and video files (the simulated
endoscope, which renders, is `kambin.render.video_source`). Every frame is stamped at acquisition."""

from kambin.video.frame import VideoFrame
from kambin.video.sources import (
    CaptureSource,
    FileSource,
    VideoConnectionError,
    VideoSource,
    VideoState,
    VideoStateError,
)

__all__ = [
    "CaptureSource",
    "FileSource",
    "VideoConnectionError",
    "VideoFrame",
    "VideoSource",
    "VideoState",
    "VideoStateError",
]

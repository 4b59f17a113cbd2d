"""The inputs of a real navigation setup that are not files of their own: the tracker (a PLUS
sequence file replayed in real time, or a live OpenIGTLink stream) and the video (capture device,
stream URL or file), named on the command line, opened and checked before anything is built, and
the check that the camera calibration (`calibration.intrinsics.read_camera`) is for the video's
image size. The hand-eye calibration is `calibration.hand_eye.read_hand_eye`, the patient
registration `registration.registration_file.read_registration`. Each raises a one-line kambin
error saying what is wrong with which input.

The scope's tracked pose is taken as its tip frame (origin at the tip, z along the shaft), as
PLUS gives `<Tool>TipToTracker` once a pivot calibration is in its configuration.
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from kambin.calibration.intrinsics import CameraIntrinsics
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking.plus import PlusReplaySource, camel_to_frame, frame_to_camel
from kambin.tracking.source import TrackerSource
from kambin.video.sources import CaptureSource, FileSource, VideoSource

TRACKING_FORMS = "plus:FILE.igs.mha or igtl://HOST:PORT"
VIDEO_FORMS = "a device index (0), a stream URL (rtsp://...) or a video file"
IGTL_CONNECT_TIMEOUT_S = 2.0  # PLUS Server and Slicer accept in milliseconds on a LAN
_FRAME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def tool_frame_name(name: str) -> str:
    """A tool name as kambin's frame name: "scope_tip" stays, PLUS's "ScopeTip" becomes "scope_tip"."""
    frame = camel_to_frame(name) if any(c.isupper() for c in name) else name
    if not _FRAME_NAME.match(frame):
        raise InvalidInputError(f"tool name must be like scope, scope_tip or ScopeTip, not {name!r}")
    return frame


def tracker_from_spec(spec: str, scope: str = "scope", reference: str = "reference") -> TrackerSource:
    """The tracker source a `--tracking` value names, checked: a PLUS file is read (and must hold
    the scope's and the reference's transforms to the tracker); an OpenIGTLink server is connected
    to (the source is returned started, so an unreachable one fails here)."""
    if spec.startswith("plus:"):
        path = Path(spec[len("plus:"):])
        if not path.is_file():
            raise UnreadableFileError(f"{path}: no such PLUS sequence file")
        source = PlusReplaySource(path, realtime=True)
        missing = [name for name in (scope, reference) if name not in source.tools]
        if missing:
            names = ", ".join(f"{frame_to_camel(n)}ToTracker" for n in missing)
            raise InvalidInputError(
                f"{path} has no {names} (its tools: {', '.join(source.tools)}); name the tools with "
                "--scope-tool and --reference-tool"
            )
        return source
    if spec.startswith("igtl://"):
        from kambin.tracking.igtl import IgtlTrackerSource

        parts = urlsplit(spec)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or parts.path not in ("", "/"):
            raise InvalidInputError(f"{spec!r} must look like igtl://HOST:PORT (e.g. igtl://127.0.0.1:18944)")
        source = IgtlTrackerSource(parts.hostname, port, tools=(scope, reference),
                                   connect_timeout_s=IGTL_CONNECT_TIMEOUT_S)
        source.start()
        return source
    raise InvalidInputError(f"{spec!r} is not a tracker: give {TRACKING_FORMS}")


def video_from_spec(spec: str) -> VideoSource:
    """The video source a `--video` value names: digits are a capture device's index, a URL a
    stream, anything else a file (played in real time)."""
    if spec.isdigit():
        return CaptureSource(int(spec))
    if "://" in spec:
        return CaptureSource(spec)
    path = Path(spec)
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such video file (or give {VIDEO_FORMS})")
    return FileSource(path, realtime=True)


@contextmanager
def _stderr_silenced():
    """File descriptor 2 to /dev/null for a moment: FFmpeg, inside OpenCV, prints its complaints
    ("moov atom not found") there, beside the one-line error that says the same. Used only while
    probing the video at start-up, before any thread runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def probe_video(spec: str) -> tuple[int, int]:
    """Open the video a `--video` value names, read one frame and close it: its (width, height).
    Raises the source's one-line error if it cannot be opened or gives no frame."""
    source = video_from_spec(spec)
    if isinstance(source, FileSource):
        source.realtime = False
    with _stderr_silenced(), source:
        frame = source.read()
    if frame is None:
        raise UnreadableFileError(f"{spec}: the video holds no frame")
    return frame.size


def check_camera_matches_video(intrinsics: CameraIntrinsics, size: tuple[int, int]) -> None:
    if (intrinsics.width, intrinsics.height) != tuple(size):
        raise InvalidInputError(
            f"the camera calibration is for {intrinsics.width}x{intrinsics.height} images but the video is "
            f"{size[0]}x{size[1]}; calibrate the camera at the video's resolution"
        )

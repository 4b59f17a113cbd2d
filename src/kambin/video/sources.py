"""Video sources with an explicit state machine, like the tracker sources:

    READY --start()--> STREAMING --stop()--> STOPPED

`read()` is allowed only while STREAMING and returns the next `VideoFrame`, or None at the end of
a file (the source then stops itself). OpenCV's VideoCapture reads devices, streams and files
(FFmpeg backend). The simulated endoscope, a source that renders, is `kambin.render.video_source`.
"""

from __future__ import annotations

import enum
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from kambin.errors import KambinError, UnreadableFileError
from kambin.video.frame import VideoFrame


class VideoStateError(KambinError, RuntimeError):
    """A video source was used in a state that does not allow it (e.g. read before start)."""


class VideoConnectionError(KambinError, ConnectionError):
    """A capture device or stream could not be opened or stopped delivering frames."""


class VideoState(enum.Enum):
    READY = "ready"
    STREAMING = "streaming"
    STOPPED = "stopped"


class VideoSource(ABC):
    """Base class: subclasses implement `_open`, `_grab` (image and its timestamp) and `_close`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._state = VideoState.READY
        self._clock = clock
        self.frames_delivered = 0
        self._opened_s = 0.0  # clock at start()
        self._schedule_s = 0.0  # pacing origin (moves back when frames come late)

    @property
    def state(self) -> VideoState:
        return self._state

    def start(self) -> None:
        if self._state is not VideoState.READY:
            raise VideoStateError(
                f"{type(self).__name__} is {self._state.value}; only a ready source can start (make a new one)"
            )
        self._open()
        self._state = VideoState.STREAMING

    def read(self) -> VideoFrame | None:
        """The next frame, or None when a file has ended (the source is then stopped)."""
        if self._state is not VideoState.STREAMING:
            raise VideoStateError(f"{type(self).__name__} is {self._state.value}; call start() before read()")
        grabbed = self._grab()
        if grabbed is None:
            self.stop()
            return None
        image_rgb, timestamp_s = grabbed
        frame = VideoFrame(timestamp_s, self.frames_delivered, image_rgb)
        self.frames_delivered += 1
        return frame

    def stop(self) -> None:
        """Close the source; calling it again, or on a never-started source, is harmless."""
        if self._state is VideoState.STREAMING:
            self._close()
        self._state = VideoState.STOPPED

    def __enter__(self) -> VideoSource:
        self.start()
        return self

    def _paced(self, rate_hz: float, realtime: bool) -> float:
        """The timestamp of the next frame at `rate_hz`. Without `realtime`: its due time on the
        simulated clock, opened + index / rate. In real time: wait until it is due and read the
        clock; a frame that comes late moves the schedule back by its lateness instead of bursting
        to catch up, so consecutive frames are never closer than one period."""
        due_s = self._schedule_s + self.frames_delivered / rate_hz
        if not realtime:
            return due_s
        wait = due_s - self._clock()
        if wait > 0:
            time.sleep(wait)
        now = self._clock()
        if now > due_s:
            self._schedule_s += now - due_s
        return now

    def __exit__(self, *exc) -> None:
        self.stop()

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _grab(self) -> tuple[np.ndarray, float] | None: ...

    @abstractmethod
    def _close(self) -> None: ...


class CaptureSource(VideoSource):
    """A camera or frame grabber (device index) or a stream URL, through OpenCV's VideoCapture.

    Each frame is stamped when `grab()` returns, the closest to acquisition OpenCV exposes.
    """

    def __init__(self, device: int | str, width: int | None = None, height: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.device = device
        self.size = (width, height)
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> None:
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            raise VideoConnectionError(
                f"cannot open video device or stream {self.device!r}; check the cable, the device index "
                "(ls /dev/video*) or the URL"
            )
        width, height = self.size
        if width and height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture = capture

    def _grab(self) -> tuple[np.ndarray, float] | None:
        if not self._capture.grab():
            raise VideoConnectionError(f"video device or stream {self.device!r} stopped delivering frames")
        timestamp = self._clock()
        ok, image_bgr = self._capture.retrieve()
        if not ok:
            raise VideoConnectionError(f"video device or stream {self.device!r} gave an unreadable frame")
        return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), timestamp

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class FileSource(VideoSource):
    """A video file. `realtime=True` paces frames at the file's frame rate and stamps each when it is
    due; `realtime=False` delivers them at once, stamped start + index / fps on the source's clock
    (tests and replays that compare numbers, not wall time)."""

    def __init__(self, path: str | os.PathLike, realtime: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.path = Path(path)
        self.realtime = realtime
        self.fps = 0.0
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> None:
        if not self.path.is_file():
            raise UnreadableFileError(f"{self.path}: no such video file")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise UnreadableFileError(f"{self.path}: not a video file OpenCV can read")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        if not np.isfinite(fps) or fps <= 0:
            capture.release()
            raise UnreadableFileError(f"{self.path}: the file gives no frame rate; re-encode it with one")
        self.fps = fps
        self._capture = capture
        self._opened_s = self._schedule_s = self._clock()

    def _grab(self) -> tuple[np.ndarray, float] | None:
        ok, image_bgr = self._capture.read()
        if not ok:
            return None
        timestamp = self._paced(self.fps, self.realtime)
        return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), timestamp

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

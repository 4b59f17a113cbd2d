"""The simulated endoscope as a video source (`kambin.video.VideoSource`): the meshes rendered
through the virtual endoscope at the poses a callable gives for each acquisition time. It lives in
render, above video, because it renders."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kambin.errors import InvalidInputError
from kambin.render.endoscope import EndoscopeCamera
from kambin.render.scene import EndoscopeRenderer
from kambin.video.sources import VideoSource


class SimulatedEndoscopeSource(VideoSource):
    """The virtual endoscope's video: meshes rendered through a camera at the pose that
    `scope_to_ct_at(t)` gives for each acquisition time t (e.g. a simulated tracker's truth).

    `rate_hz` paces frames when `realtime` is set; otherwise frames come as fast as they render,
    stamped on the simulated clock start + index / rate_hz. `time_base` says what t the pose
    callable receives: "start" (seconds since `start()`) or "clock" (the acquisition timestamp
    itself, to share one clock with a simulated tracker).
    """

    def __init__(
        self,
        meshes: Sequence,
        scope_to_ct_at: Callable[[float], np.ndarray],
        width: int = 640,
        height: int = 480,
        optics_angle_deg: float = 30.0,
        rate_hz: float = 30.0,
        realtime: bool = False,
        time_base: str = "start",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if time_base not in ("start", "clock"):
            raise InvalidInputError(f"time_base must be 'start' or 'clock', not {time_base!r}")
        if rate_hz <= 0:
            raise InvalidInputError(f"frame rate must be positive, got {rate_hz}")
        if not meshes:
            raise InvalidInputError("the simulated endoscope needs at least one mesh to show")
        self.meshes = list(meshes)
        self.scope_to_ct_at = scope_to_ct_at
        self.size = (width, height)
        self.optics_angle_deg = optics_angle_deg
        self.rate_hz = rate_hz
        self.realtime = realtime
        self.time_base = time_base
        self._renderer = None

    def _open(self) -> None:
        camera = EndoscopeCamera.create(*self.size, optics_angle_deg=self.optics_angle_deg)
        self._renderer = EndoscopeRenderer(self.meshes, camera)
        self._opened_s = self._schedule_s = self._clock()

    def _grab(self) -> tuple[np.ndarray, float] | None:
        timestamp = self._paced(self.rate_hz, self.realtime)
        t = timestamp - self._opened_s if self.time_base == "start" else timestamp
        frame = self._renderer.render(self.scope_to_ct_at(t))
        return frame.color_rgb, timestamp

    def _close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

"""The one interface every tracker source implements, with an explicit state machine.

    READY --start()--> TRACKING --stop()--> STOPPED
      \\______________stop()______________/

A source is created READY (configured, nothing opened). `start()` opens the device or file and
moves to TRACKING; `get_frame()` is allowed only while TRACKING; `stop()` closes and moves to
STOPPED, from which there is no way back (make a new source). A replay that reaches its end
stops itself. Calls in the wrong state raise `TrackerStateError`, naming the state.

Every frame passes through the source's `FaultMonitor` before it is returned, so a NaN, non-rigid
or frozen pose, or a timestamp going backwards, is never handed out with status "ok".
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

from kambin.errors import KambinError
from kambin.tracking.faults import FaultMonitor
from kambin.tracking.frame import TrackingFrame


class TrackerStateError(KambinError, RuntimeError):
    """A tracker source was used in a state that does not allow it (e.g. get_frame before start)."""


class TrackerConnectionError(KambinError, ConnectionError):
    """A tracker or peer could not be reached (wrong host/port, server not running, no device)."""


class TrackerState(enum.Enum):
    READY = "ready"
    TRACKING = "tracking"
    STOPPED = "stopped"


class TrackerSource(ABC):
    """Base class: subclasses implement `_open`, `_acquire` and `_close`."""

    def __init__(self, tools: tuple[str, ...], monitor: FaultMonitor | None = None):
        self._state = TrackerState.READY
        self.tools = tuple(tools)
        self.monitor = monitor if monitor is not None else FaultMonitor()
        self.frames_delivered = 0

    @property
    def state(self) -> TrackerState:
        return self._state

    @property
    def faults(self) -> list[str]:
        """Every fault line detected so far on this stream."""
        return self.monitor.log

    def start(self) -> None:
        if self._state is not TrackerState.READY:
            raise TrackerStateError(
                f"{type(self).__name__} is {self._state.value}; only a ready source can start (make a new one)"
            )
        self._open()
        self._state = TrackerState.TRACKING

    def get_frame(self, timeout_s: float = 1.0) -> TrackingFrame | None:
        """The next frame, checked for faults; None if none arrived within `timeout_s` or a replay ended."""
        if self._state is not TrackerState.TRACKING:
            raise TrackerStateError(f"{type(self).__name__} is {self._state.value}; call start() before get_frame()")
        frame = self._acquire(timeout_s)
        if frame is None:
            return None
        self.frames_delivered += 1
        return self.monitor.check(frame)

    def stop(self) -> None:
        """Close the source; calling it again, or on a never-started source, is harmless."""
        if self._state is TrackerState.TRACKING:
            self._close()
        self._state = TrackerState.STOPPED

    def __enter__(self) -> TrackerSource:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _end_of_stream(self) -> None:
        """For replays: stop at the end of the recording."""
        self._close()
        self._state = TrackerState.STOPPED

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _acquire(self, timeout_s: float) -> TrackingFrame | None: ...

    @abstractmethod
    def _close(self) -> None: ...

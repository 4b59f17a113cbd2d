"""NDI Polaris / Vega / Aurora trackers through scikit-surgerynditracker (optional extra `ndi`).

`NdiConfig` validates the configuration before any hardware is touched (tracker type, the
connection it needs, ROM files that exist, tool names that match); `NdiTracker` builds
scikit-surgerynditracker's configuration dictionary from it and turns its frames into
`TrackingFrame`s: a NaN matrix (NDI reports MISSING or DISABLED) becomes a "missing" pose, and
NDI's per-tool quality (the marker fit RMS in mm for optical tools) becomes `error_mm`.

References
----------
S. Thompson et al., "SciKit-Surgery: compact libraries for surgical navigation", IJCARS
15(7):1075-1084, 2020. doi:10.1007/s11548-020-02180-5
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking.frame import ToolPose, TrackingFrame, nan_pose
from kambin.tracking.source import TrackerConnectionError, TrackerSource

INSTALL_HINT = "NDI trackers need the optional extra: pip install 'kambin[ndi]' (scikit-surgerynditracker)"


class NdiConfig(BaseModel):
    """Configuration of an NDI tracker.

    `tools` names the tools in port order: for Polaris/Vega one per ROM file; for Aurora (wired
    ports, no ROM files) one per port that will be found. "dummy" is scikit-surgerynditracker's
    hardware-free mode (every tool missing), for tests.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracker_type: Literal["polaris", "vega", "aurora", "dummy"]
    tools: list[str] = Field(min_length=1)
    romfiles: list[Path] = Field(default_factory=list)
    serial_port: str | None = None
    ip_address: str | None = None
    port: int = Field(default=8765, ge=1, le=65535)
    ports_to_probe: int = Field(default=20, ge=1)
    smoothing_buffer: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> NdiConfig:
        if self.tracker_type == "vega" and not self.ip_address:
            raise ValueError("a Vega is reached over the network: give ip_address")
        if self.tracker_type in ("polaris", "vega") and not self.romfiles:
            raise ValueError(f"a {self.tracker_type} needs one ROM file per tool (romfiles)")
        if self.tracker_type == "aurora" and self.romfiles:
            raise ValueError("an Aurora identifies its wired tools itself: give no romfiles")
        if self.romfiles and len(self.romfiles) != len(self.tools):
            raise ValueError(f"{len(self.romfiles)} ROM files for {len(self.tools)} tools: give one name per ROM file")
        if len(set(self.tools)) != len(self.tools):
            raise ValueError(f"tool names must be unique, got {self.tools}")
        return self

    def check_files(self) -> None:
        """Raise UnreadableFileError for a ROM file that does not exist."""
        for rom in self.romfiles:
            if not rom.is_file():
                raise UnreadableFileError(f"NDI ROM file {rom} does not exist")

    def sksurgery_config(self) -> dict:
        """The configuration dictionary scikit-surgerynditracker's NDITracker takes."""
        config: dict = {"tracker type": self.tracker_type, "smoothing buffer": self.smoothing_buffer}
        if self.romfiles:
            config["romfiles"] = [str(p) for p in self.romfiles]
        if self.serial_port is not None:
            config["serial port"] = self.serial_port
        if self.tracker_type in ("polaris", "aurora"):
            config["ports to probe"] = self.ports_to_probe
        if self.tracker_type == "vega":
            config["ip address"] = self.ip_address
            config["port"] = self.port
        return config


def ndi_config(data: dict) -> NdiConfig:
    """Validate an NDI configuration; a bad one raises InvalidInputError naming the field."""
    try:
        config = NdiConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise InvalidInputError(f"invalid NDI configuration ({where}): {first['msg']}") from None
    config.check_files()
    return config


def sksurgery_available() -> bool:
    try:
        import sksurgerynditracker.nditracker  # noqa: F401
    except ImportError:
        return False
    return True


class NdiTracker(TrackerSource):
    """An NDI tracker as a kambin tracker source (connects on `start()`)."""

    def __init__(self, config: NdiConfig, **kwargs):
        super().__init__(tuple(config.tools), **kwargs)
        self.config = config
        self._device = None

    def _open(self) -> None:
        try:
            from sksurgerynditracker.nditracker import NDITracker
        except ImportError:
            raise InvalidInputError(INSTALL_HINT) from None
        self.config.check_files()
        try:
            self._device = NDITracker(self.config.sksurgery_config())
        except (OSError, KeyError, ValueError) as error:
            raise TrackerConnectionError(
                f"NDI {self.config.tracker_type} did not connect: {str(error).strip().splitlines()[0]}; "
                "check the cable or network, power, and (Linux) membership of the dialout group"
            ) from None
        if self.config.tracker_type != "dummy":  # the dummy has no device to start
            self._device.start_tracking()

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        _, _, frame_numbers, tracking, quality = self._device.get_frame()
        now = time.monotonic()
        poses = {}
        for n, tool in enumerate(self.tools):
            if n >= len(tracking):
                poses[tool] = ToolPose.missing(tool, "no such port on the tracker")
                continue
            matrix = np.asarray(tracking[n], dtype=np.float64).reshape(4, 4)
            if not np.all(np.isfinite(matrix[:3])):
                poses[tool] = ToolPose(tool, nan_pose(), "missing", None, "NDI reports the tool missing or disabled")
            else:
                q = float(quality[n]) if n < len(quality) and np.isfinite(quality[n]) else None
                poses[tool] = ToolPose(tool, matrix, "ok", q)
        source_time = float(frame_numbers[0]) / 60.0 if len(frame_numbers) else None  # NDI frames count at 60 Hz
        return TrackingFrame(now, poses, self.frames_delivered, source_time)

    def _close(self) -> None:
        if self._device is not None:
            try:
                if self.config.tracker_type != "dummy":
                    self._device.stop_tracking()
            finally:
                self._device.close()
                self._device = None

"""The inputs of a real navigation setup, read and checked before anything is built: the tracker
(a PLUS sequence file replayed in real time, or a live OpenIGTLink stream), the video (capture
device, stream URL or file), the camera intrinsics, the hand-eye calibration and the patient
registration. Each reader raises a one-line kambin error saying what is wrong with which file.

File formats (JSON):
- camera: what `kambin calibrate camera --json` prints: `camera_matrix` (3x3, pixels),
  `distortion` (k1 k2 p1 p2 [k3]) and `image_size` ([width, height]); other keys are ignored.
- hand-eye: `camera_to_scope` (4x4 row-major, mm): the camera's optical frame (OpenCV: x right,
  y down, z forward) in the tracked scope's frame; `camera_to_marker`, the name
  `kambin.calibration.hand_eye.HandEyeResult` gives it, is read the same way.
- registration: `ct_to_reference` (4x4) with optional `error_mm` and `method`; or what
  `kambin register points --json` prints when the fixed points are the CT's and the moving ones
  were touched in the reference's frame: `moving_to_fixed` (= reference_to_ct), `fre_mm`,
  `tre_mm` (the predicted TRE is taken as the error when given, else the FRE).

The scope's tracked pose is taken as its tip frame (origin at the tip, z along the shaft), as
PLUS gives `<Tool>TipToTracker` once a pivot calibration is in its configuration.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.geometry.transforms import check_rigid, invert
from kambin.navigation.pipeline import Registration
from kambin.render.endoscope import CameraIntrinsics
from kambin.tracking.plus import PlusReplaySource, camel_to_frame, frame_to_camel
from kambin.tracking.source import TrackerSource
from kambin.video.sources import CaptureSource, FileSource, VideoSource

TRACKING_FORMS = "plus:FILE.igs.mha or igtl://HOST:PORT"
VIDEO_FORMS = "a device index (0), a stream URL (rtsp://...) or a video file"
IGTL_CONNECT_TIMEOUT_S = 2.0  # PLUS Server and Slicer accept in milliseconds on a LAN
_FRAME_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

Matrix4 = list[list[float]]


def tool_frame_name(name: str) -> str:
    """A tool name as kambin's frame name: "scope_tip" stays, PLUS's "ScopeTip" becomes "scope_tip"."""
    frame = camel_to_frame(name) if any(c.isupper() for c in name) else name
    if not _FRAME_NAME.match(frame):
        raise InvalidInputError(f"tool name must be like scope, scope_tip or ScopeTip, not {name!r}")
    return frame


def _read_json(path: str | os.PathLike, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such {what} file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"{error.msg} at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise UnreadableFileError(f"{path}: not a JSON {what} file ({detail})") from None
    if not isinstance(data, dict):
        raise UnreadableFileError(f"{path}: a {what} file holds a JSON object, not {type(data).__name__}")
    return data


def _validate(model: type[BaseModel], data: dict, path: str | os.PathLike, what: str):
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInputError(f"{path}: not a valid {what} file ({where}: {message})") from None


class CameraFile(BaseModel):
    """Camera intrinsics as `kambin calibrate camera --json` prints them (Zhang 2000, OpenCV)."""

    model_config = ConfigDict(extra="ignore")
    camera_matrix: list[list[float]] = Field(min_length=3, max_length=3)
    distortion: list[float] = Field(min_length=4, max_length=5)
    image_size: tuple[int, int]

    @model_validator(mode="after")
    def _shape(self) -> CameraFile:
        if any(len(row) != 3 for row in self.camera_matrix):
            raise ValueError("camera_matrix must be 3x3")
        return self


def read_camera(path: str | os.PathLike) -> CameraIntrinsics:
    """The video camera's intrinsics (pixels) and distortion (k1 k2 p1 p2 k3)."""
    camera = _validate(CameraFile, _read_json(path, "camera calibration"), path, "camera calibration")
    k = np.asarray(camera.camera_matrix, dtype=np.float64)
    distortion = tuple(camera.distortion) + (0.0,) * (5 - len(camera.distortion))
    width, height = camera.image_size
    try:
        return CameraIntrinsics(width, height, k[0, 0], k[1, 1], k[0, 2], k[1, 2], distortion)
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None


class HandEyeFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    camera_to_scope: Matrix4 | None = None
    camera_to_marker: Matrix4 | None = None

    @model_validator(mode="after")
    def _one(self) -> HandEyeFile:
        if (self.camera_to_scope is None) == (self.camera_to_marker is None):
            raise ValueError("give exactly one of camera_to_scope, camera_to_marker (a 4x4 matrix)")
        return self


def read_hand_eye(path: str | os.PathLike) -> np.ndarray:
    """`camera_to_scope` (4x4, mm) from a hand-eye calibration file (Tsai & Lenz 1989, via
    `kambin.calibration.hand_eye`)."""
    hand_eye = _validate(HandEyeFile, _read_json(path, "hand-eye calibration"), path, "hand-eye calibration")
    matrix = hand_eye.camera_to_scope if hand_eye.camera_to_scope is not None else hand_eye.camera_to_marker
    try:
        return check_rigid(np.asarray(matrix, dtype=np.float64), "camera_to_scope")
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None


class RegistrationFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ct_to_reference: Matrix4 | None = None
    moving_to_fixed: Matrix4 | None = None
    error_mm: float | None = Field(None, ge=0)
    tre_mm: float | None = Field(None, ge=0)
    fre_mm: float | None = Field(None, ge=0)
    method: str = ""

    @model_validator(mode="after")
    def _one(self) -> RegistrationFile:
        if (self.ct_to_reference is None) == (self.moving_to_fixed is None):
            raise ValueError("give exactly one of ct_to_reference, moving_to_fixed (a 4x4 matrix)")
        return self


def read_registration(path: str | os.PathLike) -> Registration:
    """The patient registration `ct_to_reference` and its error estimate (see the module docstring)."""
    data = _validate(RegistrationFile, _read_json(path, "registration"), path, "registration")
    try:
        if data.ct_to_reference is not None:
            matrix = check_rigid(np.asarray(data.ct_to_reference, dtype=np.float64), "ct_to_reference")
            error, method = data.error_mm, data.method or f"from {Path(path).name}"
        else:
            reference_to_ct = check_rigid(np.asarray(data.moving_to_fixed, dtype=np.float64), "moving_to_fixed")
            matrix = invert(reference_to_ct)
            error = data.tre_mm if data.tre_mm is not None else data.fre_mm
            method = data.method or "paired-point (kambin register points)"
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None
    return Registration(matrix, error, method)


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

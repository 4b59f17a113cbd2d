"""The camera's intrinsics (pinhole in pixels, OpenCV's distortion) and their file: what camera
calibration computes (`calibration.camera`), the endoscope renders through (`render.endoscope`) and
navigation projects with.

The file (JSON) is what `kambin calibrate camera --json` prints: `camera_matrix` (3x3, pixels),
`distortion` (k1 k2 p1 p2 [k3]) and `image_size` ([width, height]), with `format`; other keys (the
calibration's residuals) are kept by the writer and ignored by the reader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError
from kambin.json_files import read_model

CAMERA_FORMAT = "kambin-camera-1"


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels (OpenCV convention: pixel centres at integer coordinates)
    and OpenCV distortion coefficients (k1, k2, p1, p2, k3)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise InvalidInputError(f"image size must be at least 8x8 pixels, got {self.width}x{self.height}")
        if not (self.fx > 0 and self.fy > 0):
            raise InvalidInputError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if len(self.distortion) != 5:
            raise InvalidInputError(
                f"distortion must be 5 numbers (k1, k2, p1, p2, k3), got {len(self.distortion)}"
            )
        object.__setattr__(self, "distortion", tuple(float(d) for d in self.distortion))

    @classmethod
    def from_fov(
        cls,
        width: int,
        height: int,
        fov_deg: float,
        distortion: Sequence[float] = (0.0, 0.0, 0.0, 0.0, 0.0),
    ) -> CameraIntrinsics:
        """Square pixels, principal point at the centre, and `fov_deg` across the image height
        (the diameter of an endoscope's circular image), for the undistorted pinhole."""
        if not 1.0 <= fov_deg < 170.0:
            raise InvalidInputError(f"field of view must be in [1, 170) degrees, got {fov_deg}")
        focal = (height / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
        return cls(int(width), int(height), focal, focal, (width - 1) / 2.0, (height - 1) / 2.0, tuple(distortion))

    @property
    def matrix(self) -> np.ndarray:
        """3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_coeffs(self) -> np.ndarray:
        return np.array(self.distortion, dtype=np.float64)

    @property
    def has_distortion(self) -> bool:
        return any(d != 0.0 for d in self.distortion)


class CameraFile(BaseModel):
    """The camera file (Zhang 2000, OpenCV's model)."""

    model_config = ConfigDict(extra="ignore")
    format: Literal["kambin-camera-1"] = CAMERA_FORMAT
    camera_matrix: list[list[float]] = Field(min_length=3, max_length=3)
    distortion: list[float] = Field(min_length=4, max_length=5)
    image_size: tuple[int, int]

    @model_validator(mode="after")
    def _shape(self) -> CameraFile:
        if any(len(row) != 3 for row in self.camera_matrix):
            raise ValueError("camera_matrix must be 3x3")
        return self


def camera_file_fields(camera_matrix: np.ndarray, distortion: Sequence[float], image_size: Sequence[int]) -> dict:
    """The camera file's fields (JSON-ready), checked by its model."""
    return CameraFile(
        camera_matrix=np.asarray(camera_matrix, dtype=float).tolist(),
        distortion=[float(d) for d in distortion],
        image_size=(int(image_size[0]), int(image_size[1])),
    ).model_dump(mode="json")


def write_camera(intrinsics: CameraIntrinsics, path: str | os.PathLike, **extra) -> Path:
    """Write the intrinsics as a camera file, atomically; `extra` keys (e.g. `rms_px`) go beside."""
    fields = camera_file_fields(intrinsics.matrix, intrinsics.distortion, (intrinsics.width, intrinsics.height))
    return write_text_atomic(path, json.dumps({**fields, **extra}, indent=2) + "\n")


def read_camera(path: str | os.PathLike) -> CameraIntrinsics:
    """The video camera's intrinsics (pixels) and distortion (k1 k2 p1 p2 k3) from a camera file."""
    camera = read_model(CameraFile, path, "camera calibration")
    k = np.asarray(camera.camera_matrix, dtype=np.float64)
    distortion = tuple(camera.distortion) + (0.0,) * (5 - len(camera.distortion))
    width, height = camera.image_size
    try:
        return CameraIntrinsics(width, height, k[0, 0], k[1, 1], k[0, 2], k[1, 2], distortion)
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None

"""Hand-eye calibration: where the endoscope's camera sits relative to the marker tracked on it.

The tracker reports `marker_to_tracker` for each view; the camera sees a calibration board fixed
in the room and gives `board_to_camera` (from `calibrate_camera` or solvePnP). The unknown is
X = `camera_to_marker`. For two views i, j the board does not move, so
    A X = X B,  A = inv(marker_to_tracker_j) @ marker_to_tracker_i,  B = board_to_camera_j @ inv(board_to_camera_i)
(the classic AX = XB of robot hand-eye calibration, gripper = marker, target = board).

Solved by OpenCV's `calibrateHandEye` with the method asked for: Tsai & Lenz 1989, Park & Martin
1994 or Daniilidis 1999 (kambin pins OpenCV below 5.0, whose Python bindings dropped it). This
module checks the input, refuses degenerate motion, and reports how consistent the result is.

References
----------
R. Y. Tsai, R. K. Lenz, "A new technique for fully autonomous and efficient 3D robotics hand/eye
calibration", IEEE Trans. Robotics and Automation 5(3):345-358, 1989. doi:10.1109/70.34770
F. C. Park, B. J. Martin, "Robot sensor calibration: solving AX = XB on the Euclidean group",
IEEE Trans. Robotics and Automation 10(5):717-721, 1994. doi:10.1109/70.326576
K. Daniilidis, "Hand-eye calibration using dual quaternions", Int. J. Robotics Research
18(3):286-298, 1999. doi:10.1177/02783649922066213
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator
from scipy.spatial.transform import Rotation

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import check_rigid, from_rotation_translation, invert
from kambin.json_files import read_model

HAND_EYE_METHODS = ("tsai", "park", "daniilidis")
_OPENCV_FLAGS = {
    "tsai": cv2.CALIB_HAND_EYE_TSAI,
    "park": cv2.CALIB_HAND_EYE_PARK,
    "daniilidis": cv2.CALIB_HAND_EYE_DANIILIDIS,
}
MIN_MOTION_DEG = 5.0


@dataclass(frozen=True)
class HandEyeResult:
    """`camera_to_marker` and its consistency over the views.

    `board_to_tracker_spread_mm` is the RMS distance of the board origin, mapped to the tracker
    through each view's chain marker_to_tracker @ camera_to_marker @ board_to_camera, from their
    mean: zero for perfect data, and the figure to gate on.
    """

    camera_to_marker: np.ndarray
    method: str
    board_to_tracker_spread_mm: float
    rotation_residual_deg: float


def _motions(marker_to_tracker: np.ndarray, board_to_camera: np.ndarray) -> tuple[list, list]:
    """Relative motions (A_k, B_k) between consecutive views, skipping near-pure translations."""
    a_list, b_list = [], []
    n = len(marker_to_tracker)
    for i in range(n):
        for j in range(i + 1, n):
            a = invert(marker_to_tracker[j]) @ marker_to_tracker[i]
            b = board_to_camera[j] @ invert(board_to_camera[i])
            if np.degrees(np.linalg.norm(Rotation.from_matrix(a[:3, :3]).as_rotvec())) >= MIN_MOTION_DEG:
                a_list.append(a)
                b_list.append(b)
    return a_list, b_list


def _opencv(marker_to_tracker: np.ndarray, board_to_camera: np.ndarray, method: str) -> np.ndarray:
    rotation, translation = cv2.calibrateHandEye(
        [m[:3, :3] for m in marker_to_tracker],
        [m[:3, 3] for m in marker_to_tracker],
        [m[:3, :3] for m in board_to_camera],
        [m[:3, 3] for m in board_to_camera],
        method=_OPENCV_FLAGS[method],
    )
    return from_rotation_translation(rotation, translation.reshape(3))


def hand_eye_calibration(
    marker_to_tracker: np.ndarray,
    board_to_camera: np.ndarray,
    method: str = "tsai",
    max_spread_mm: float | None = None,
) -> HandEyeResult:
    """Solve AX = XB for X = `camera_to_marker` from N >= 3 paired views (N, 4, 4) each."""
    if method not in HAND_EYE_METHODS:
        raise InvalidInputError(f"method must be one of {HAND_EYE_METHODS}, not {method!r}")
    markers = np.asarray(marker_to_tracker, dtype=np.float64)
    boards = np.asarray(board_to_camera, dtype=np.float64)
    if markers.ndim != 3 or markers.shape[1:] != (4, 4) or markers.shape != boards.shape:
        raise InvalidInputError(
            "marker_to_tracker and board_to_camera must both have shape (N, 4, 4), "
            f"got {markers.shape} and {boards.shape}"
        )
    if len(markers) < 3:
        raise UnreliableResultError(f"hand-eye calibration needs at least 3 views, got {len(markers)}")
    for n in range(len(markers)):
        check_rigid(markers[n], f"marker_to_tracker[{n}]", tolerance=1e-4)
        check_rigid(boards[n], f"board_to_camera[{n}]", tolerance=1e-4)
    a_list, b_list = _motions(markers, boards)
    if len(a_list) < 2:
        raise UnreliableResultError(
            f"hand-eye calibration needs views rotated at least {MIN_MOTION_DEG:g} deg apart about two axes"
        )
    camera_to_marker = _opencv(markers, boards, method)
    board_to_tracker = np.array([m @ camera_to_marker @ b for m, b in zip(markers, boards, strict=True)])
    origins = board_to_tracker[:, :3, 3]
    spread = float(np.sqrt(np.mean(np.sum((origins - origins.mean(axis=0)) ** 2, axis=1))))
    rotation_errors = [
        np.degrees(
            np.linalg.norm(
                Rotation.from_matrix(
                    a[:3, :3] @ camera_to_marker[:3, :3] @ (camera_to_marker[:3, :3] @ b[:3, :3]).T
                ).as_rotvec()
            )
        )
        for a, b in zip(a_list, b_list, strict=True)
    ]
    result = HandEyeResult(camera_to_marker, method, spread, float(np.sqrt(np.mean(np.square(rotation_errors)))))
    if max_spread_mm is not None and spread > max_spread_mm:
        raise UnreliableResultError(
            f"hand-eye calibration refused: the board position disagrees by {spread:.2f} mm RMS between views "
            f"(limit {max_spread_mm:g} mm); check the board did not move and the tracker saw the marker"
        )
    return result


# --- the hand-eye file ----------------------------------------------------------------------------

Matrix4 = list[list[float]]


class HandEyeFile(BaseModel):
    """The hand-eye file: `camera_to_scope` (4x4 row-major, mm), the camera's optical frame (OpenCV:
    x right, y down, z forward) in the tracked scope's frame; `camera_to_marker`, the name
    `HandEyeResult` gives it, is read the same way."""

    model_config = ConfigDict(extra="ignore")
    format: Literal["kambin-hand-eye-1"] = "kambin-hand-eye-1"
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
    hand_eye = read_model(HandEyeFile, path, "hand-eye calibration")
    matrix = hand_eye.camera_to_scope if hand_eye.camera_to_scope is not None else hand_eye.camera_to_marker
    try:
        return check_rigid(np.asarray(matrix, dtype=np.float64), "camera_to_scope")
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from None


def write_hand_eye(camera_to_scope: np.ndarray, path: str | os.PathLike) -> Path:
    """Write `camera_to_scope` (4x4, mm) as a hand-eye file, atomically."""
    fields = HandEyeFile(camera_to_scope=np.asarray(camera_to_scope, dtype=float).tolist())
    return write_text_atomic(path, json.dumps(fields.model_dump(mode="json", exclude_none=True), indent=2) + "\n")

"""Calibration: pointer tip (pivot), camera intrinsics (chessboard, ChArUco), hand-eye (camera to marker)."""

from kambin.calibration.camera import (
    Board,
    CameraCalibration,
    calibrate_camera,
    calibrate_camera_from_images,
    detect_charuco,
    detect_chessboard,
    read_image,
)
from kambin.calibration.hand_eye import HAND_EYE_METHODS, HandEyeResult, hand_eye_calibration
from kambin.calibration.pivot import PivotResult, pivot_calibration, robust_pivot_calibration

__all__ = [
    "HAND_EYE_METHODS",
    "Board",
    "CameraCalibration",
    "HandEyeResult",
    "PivotResult",
    "calibrate_camera",
    "calibrate_camera_from_images",
    "detect_charuco",
    "detect_chessboard",
    "hand_eye_calibration",
    "pivot_calibration",
    "read_image",
    "robust_pivot_calibration",
]

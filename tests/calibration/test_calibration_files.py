"""The camera and hand-eye files: what kambin writes, kambin reads back exactly, with the format's
version; a file from another version is refused in one line."""

import json

import numpy as np
import pytest

from kambin.calibration.hand_eye import read_hand_eye, write_hand_eye
from kambin.calibration.intrinsics import CameraIntrinsics, read_camera, write_camera
from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_axis_angle


def test_camera_and_hand_eye_round_trip(tmp_path):
    camera = CameraIntrinsics(640, 360, 500.5, 501.0, 319.5, 179.25, (-0.2, 0.05, 0.001, -0.002, 0.01))
    path = write_camera(camera, tmp_path / "camera.json", rms_px=0.3)
    data = json.loads(path.read_text())
    assert data["format"] == "kambin-camera-1" and data["rms_px"] == 0.3
    assert read_camera(path) == camera
    camera_to_scope = from_axis_angle([0.1, -0.3, 0.6], [1.5, -2.0, 4.0])
    path = write_hand_eye(camera_to_scope, tmp_path / "handeye.json")
    assert json.loads(path.read_text())["format"] == "kambin-hand-eye-1"
    assert np.array_equal(read_hand_eye(path), camera_to_scope)
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": "kambin-hand-eye-2"}))
    with pytest.raises(InvalidInputError, match="not a valid hand-eye calibration file \\(format"):
        read_hand_eye(path)

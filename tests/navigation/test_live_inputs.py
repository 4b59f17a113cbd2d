"""The readers of a real setup's inputs: calibration files (kambin.calibration), registration files
(kambin.registration) in the forms kambin's own commands print, and their one-line refusals; tracker
and video specifications (kambin.navigation.live)."""

import json

import numpy as np
import pytest

from kambin.calibration.hand_eye import read_hand_eye
from kambin.calibration.intrinsics import read_camera
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.geometry.transforms import from_axis_angle, invert
from kambin.navigation import live
from kambin.registration.registration_file import read_registration


def write(path, data):
    path.write_text(json.dumps(data))
    return path


def test_camera_as_calibrate_camera_prints_it(tmp_path):
    k = [[800.0, 0.0, 639.5], [0.0, 810.0, 359.5], [0.0, 0.0, 1.0]]
    path = write(tmp_path / "camera.json", {"rms_px": 0.3, "camera_matrix": k, "distortion": [0.1, -0.2, 0, 0],
                                           "image_size": [1280, 720], "per_view_rms_px": [0.3], "n_views": 1})
    camera = read_camera(path)
    assert (camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy) == (1280, 720, 800, 810,
                                                                                          639.5, 359.5)
    assert camera.distortion == (0.1, -0.2, 0.0, 0.0, 0.0)
    with pytest.raises(InvalidInputError, match=r"not a valid camera calibration file \(camera_matrix"):
        read_camera(write(tmp_path / "bad.json", {"camera_matrix": [[1, 0], [0, 1]], "distortion": [0] * 5,
                                                       "image_size": [64, 48]}))
    with pytest.raises(UnreadableFileError, match="not a JSON camera calibration file"):
        (tmp_path / "text.json").write_text("fx = 800")
        read_camera(tmp_path / "text.json")
    with pytest.raises(UnreadableFileError, match="no such camera calibration file"):
        read_camera(tmp_path / "none.json")


def test_hand_eye_must_be_one_rigid_matrix(tmp_path):
    matrix = from_axis_angle(np.array([0.0, 0.3, 0.0]), np.array([1.0, 2.0, 3.0]))
    assert np.array_equal(read_hand_eye(write(tmp_path / "a.json", {"camera_to_marker": matrix.tolist()})),
                          matrix)
    with pytest.raises(InvalidInputError, match="not a rigid transform"):
        read_hand_eye(write(tmp_path / "b.json", {"camera_to_scope": (2 * np.eye(4)).tolist()}))
    with pytest.raises(InvalidInputError, match="exactly one of camera_to_scope, camera_to_marker"):
        read_hand_eye(write(tmp_path / "c.json", {}))


def test_registration_in_both_forms(tmp_path):
    ct_to_reference = from_axis_angle(np.array([0.1, 0.0, 0.2]), np.array([10.0, -5.0, 30.0]))
    printed = {"moving_to_fixed": invert(ct_to_reference).tolist(), "fre_mm": 0.4, "tre_mm": 0.9, "n_points": 6}
    registration = read_registration(write(tmp_path / "points.json", printed))
    assert np.allclose(registration.ct_to_reference, ct_to_reference) and registration.error_mm == 0.9
    direct = read_registration(write(tmp_path / "direct.json", {"ct_to_reference": ct_to_reference.tolist()}))
    assert np.array_equal(direct.ct_to_reference, ct_to_reference) and direct.error_mm is None
    with pytest.raises(InvalidInputError, match="not a rigid transform"):
        read_registration(write(tmp_path / "scaled.json", {"ct_to_reference": (2 * np.eye(4)).tolist()}))
    with pytest.raises(InvalidInputError, match="fre_mm: Input should be greater than or equal to 0"):
        read_registration(write(tmp_path / "neg.json", {"moving_to_fixed": np.eye(4).tolist(), "fre_mm": -1}))


def test_tracker_video_and_tool_names(tmp_path):
    assert live.tool_frame_name("ScopeTip") == "scope_tip" and live.tool_frame_name("scope") == "scope"
    with pytest.raises(InvalidInputError, match="tool name must be like"):
        live.tool_frame_name("scope tip")
    for spec in ("tracker.mha", "igtl://127.0.0.1", "igtl://:18944", "ndi:COM3"):
        with pytest.raises(InvalidInputError):
            live.tracker_from_spec(spec)
    assert isinstance(live.video_from_spec("0"), live.CaptureSource)
    assert isinstance(live.video_from_spec("rtsp://camera.local/stream"), live.CaptureSource)
    with pytest.raises(UnreadableFileError, match="no such video file"):
        live.video_from_spec(str(tmp_path / "none.mp4"))

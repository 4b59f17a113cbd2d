"""Hand-eye calibration (Tsai-Lenz, Park-Martin, Daniilidis) on simulated endoscope views."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kambin.calibration import HAND_EYE_METHODS, hand_eye_calibration
from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import from_axis_angle, invert


def _views(rng, n, camera_to_marker, noise_deg=0.0, noise_mm=0.0):
    board_to_tracker = from_axis_angle([0.4, 0.1, -0.2], [100.0, 50.0, -1000.0])
    markers, boards = [], []
    for _ in range(n):
        marker_to_tracker = from_axis_angle(rng.normal(0, 0.35, 3), rng.normal(0, 40, 3) + [0, 0, -850])
        board_to_camera = invert(camera_to_marker) @ invert(marker_to_tracker) @ board_to_tracker
        noise = from_axis_angle(rng.normal(0, np.radians(noise_deg), 3), rng.normal(0, noise_mm, 3))
        markers.append(marker_to_tracker)
        boards.append(noise @ board_to_camera)
    return np.array(markers), np.array(boards)


@pytest.mark.parametrize("method", HAND_EYE_METHODS)
def test_exact_and_noisy_views(method):
    rng = np.random.default_rng(0)
    truth = from_axis_angle([0.1, -0.3, 0.2], [5.0, -20.0, 100.0])
    markers, boards = _views(rng, 12, truth)
    result = hand_eye_calibration(markers, boards, method)
    assert np.allclose(result.camera_to_marker, truth, atol=1e-6)
    assert result.board_to_tracker_spread_mm < 1e-6
    markers, boards = _views(rng, 20, truth, noise_deg=0.1, noise_mm=0.3)
    noisy = hand_eye_calibration(markers, boards, method)
    angle = np.degrees(
        np.linalg.norm(Rotation.from_matrix(noisy.camera_to_marker[:3, :3] @ truth[:3, :3].T).as_rotvec())
    )
    assert angle < 0.5
    assert np.linalg.norm(noisy.camera_to_marker[:3, 3] - truth[:3, 3]) < 3.0


def test_bad_inputs_and_degenerate_motion():
    rng = np.random.default_rng(1)
    truth = from_axis_angle([0.1, -0.3, 0.2], [5.0, -20.0, 100.0])
    markers, boards = _views(rng, 6, truth)
    with pytest.raises(InvalidInputError, match="method"):
        hand_eye_calibration(markers, boards, "magic")
    with pytest.raises(InvalidInputError, match="shape"):
        hand_eye_calibration(markers, boards[:5])
    with pytest.raises(UnreliableResultError, match="at least 3 views"):
        hand_eye_calibration(markers[:2], boards[:2])
    still = np.array([markers[0]] * 5)
    with pytest.raises(UnreliableResultError, match="rotated"):
        hand_eye_calibration(still, np.array([boards[0]] * 5))
    noisy_markers, noisy_boards = _views(rng, 10, truth, noise_deg=2.0, noise_mm=5.0)
    with pytest.raises(UnreliableResultError, match="disagrees"):
        hand_eye_calibration(noisy_markers, noisy_boards, max_spread_mm=1.0)

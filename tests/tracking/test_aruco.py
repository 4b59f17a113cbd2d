"""ArUco tracking on synthetic camera images with known marker poses (OpenCV's aruco)."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_axis_angle, from_rotation_translation
from kambin.tracking import ArucoGridBoard, ArucoMarker, ToolDefinition
from kambin.tracking.aruco import ArucoTracker, marker_corners_in_marker

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])
DIST = np.zeros(5)


def _render(marker_id, corners, frame_to_camera, dictionary="DICT_4X4_50", image=None):
    """Draw marker `marker_id`, whose corners (TL, TR, BR, BL) are given in some frame, at
    `frame_to_camera` into a 1280x720 white image (exact homography)."""
    side = 200
    marker = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary)), marker_id, side
    )
    marker_to_camera = frame_to_camera
    rvec, _ = cv2.Rodrigues(marker_to_camera[:3, :3])
    projected, _ = cv2.projectPoints(corners, rvec, marker_to_camera[:3, 3], K, DIST)
    source = np.array([[0, 0], [side, 0], [side, side], [0, side]], dtype=np.float32) - 0.5
    homography = cv2.getPerspectiveTransform(source, projected.reshape(4, 2).astype(np.float32))
    canvas = np.full((720, 1280), 255, np.uint8) if image is None else image
    warped = cv2.warpPerspective(marker, homography, (1280, 720), flags=cv2.INTER_LINEAR, borderValue=255)
    mask = cv2.warpPerspective(np.full_like(marker, 255), homography, (1280, 720), flags=cv2.INTER_NEAREST) > 0
    canvas[mask] = warped[mask]
    return canvas


def _facing(rotvec, t):
    # A marker facing the camera: marker z towards the camera (camera -z), marker y up (camera -y).
    facing = np.diag([1.0, -1.0, -1.0])
    return from_rotation_translation(Rotation.from_rotvec(rotvec).as_matrix() @ facing, t)


def test_single_marker_pose_is_recovered():
    tool = ToolDefinition(name="scope", aruco=ArucoMarker(marker_id=7, size_mm=30.0))
    rng = np.random.default_rng(0)
    for _ in range(5):
        truth = _facing(rng.normal(0, 0.35, 3), np.array([0.0, 0.0, 250.0]) + rng.normal(0, 20, 3))
        image = _render(7, marker_corners_in_marker(30.0), truth)
        frames = iter([(image, 12.5)])
        with ArucoTracker([tool], K, DIST, lambda frames=frames: next(frames, None)) as tracker:
            frame = tracker.get_frame(timeout_s=0.05)
        pose = frame.poses["scope"]
        assert frame.timestamp_s == 12.5  # the image's acquisition time
        assert pose.status == "ok" and pose.error_mm < 0.2
        # A single 30 mm marker at 25 cm: sub-millimetre across the view, about 1 % of depth along it.
        assert np.linalg.norm(pose.tool_to_tracker[:2, 3] - truth[:2, 3]) < 0.5
        assert abs(pose.tool_to_tracker[2, 3] - truth[2, 3]) < 0.01 * truth[2, 3]
        angle = np.degrees(
            np.linalg.norm(Rotation.from_matrix(pose.tool_to_tracker[:3, :3] @ truth[:3, :3].T).as_rotvec())
        )
        assert angle < 2.0


def test_grid_board_pose_and_missing_marker():
    board = ArucoGridBoard(columns=2, rows=2, marker_mm=20.0, separation_mm=5.0, first_id=10)
    tools = [
        ToolDefinition(name="reference", aruco=board),
        ToolDefinition(name="pointer", aruco=ArucoMarker(marker_id=3, size_mm=20.0)),
    ]
    # OpenCV's board frame: origin at the first marker's corner, x right, y down, z into the board,
    # so a board facing the camera has about the camera's orientation.
    board_to_camera = from_axis_angle([0.2, -0.1, 0.05], [-20.0, 10.0, 300.0])
    reference = cv2.aruco.GridBoard(
        (2, 2), 20.0, 5.0, cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), np.arange(10, 14, dtype=np.int32)
    )
    image = None
    for marker_id, corners in zip(reference.getIds().reshape(-1), reference.getObjPoints(), strict=True):
        image = _render(int(marker_id), np.asarray(corners, dtype=np.float64), board_to_camera, image=image)
    tracker = ArucoTracker(tools, K, DIST, lambda: (image, time.monotonic()))
    tracker.start()
    frame = tracker.get_frame()
    tracker.stop()
    pose = frame.poses["reference"]
    assert pose.status == "ok"
    assert np.linalg.norm(pose.tool_to_tracker[:3, 3] - board_to_camera[:3, 3]) < 1.5
    angle = np.degrees(
        np.linalg.norm(Rotation.from_matrix(pose.tool_to_tracker[:3, :3] @ board_to_camera[:3, :3].T).as_rotvec())
    )
    assert angle < 1.0
    assert frame.poses["pointer"].status == "missing" and "marker 3 not seen" in frame.poses["pointer"].reason
    assert frame.quality == 0.5


def test_configuration_errors():
    with pytest.raises(InvalidInputError, match="aruco"):
        ArucoTracker([ToolDefinition(name="pointer", stream_name="X")], K, DIST, lambda: None)
    with pytest.raises(InvalidInputError, match="3x3"):
        ArucoTracker(
            [ToolDefinition(name="scope", aruco=ArucoMarker(marker_id=1, size_mm=10))], np.eye(4), DIST, lambda: None
        )
    with pytest.raises(InvalidInputError, match="dictionary"):
        ArucoTracker(
            [ToolDefinition(name="scope", aruco=ArucoMarker(marker_id=1, size_mm=10, dictionary="DICT_9X9"))],
            K,
            DIST,
            lambda: None,
        )


def test_no_image_within_timeout_gives_none():
    tracker = ArucoTracker(
        [ToolDefinition(name="scope", aruco=ArucoMarker(marker_id=1, size_mm=10))], K, DIST, lambda: None
    )
    with tracker:
        start = time.monotonic()
        assert tracker.get_frame(timeout_s=0.05) is None
        assert time.monotonic() - start < 1.0

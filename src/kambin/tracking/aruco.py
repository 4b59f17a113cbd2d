"""ArUco markers and boards seen by a calibrated camera, as a tracker source (OpenCV's aruco).

The "tracker" frame is the camera's (x right, y down, z forward, mm). A single marker's frame is
centred on it with x right, y up and z out of the marker (OpenCV's convention); a grid board's
is its corner. Poses come from `cv2.solvePnP` (IPPE-square for one marker, Collins & Bartoli
2014; iterative Levenberg-Marquardt for boards); each pose's `error_mm` is its RMS reprojection
error converted to millimetres at the marker's depth (px * z / f).

References
----------
S. Garrido-Jurado, R. Munoz-Salinas, F. J. Madrid-Cuevas, M. J. Marin-Jimenez, "Automatic
generation and detection of highly reliable fiducial markers under occlusion", Pattern
Recognition 47(6):2280-2292, 2014. doi:10.1016/j.patcog.2014.01.005
T. Collins, A. Bartoli, "Infinitesimal plane-based pose estimation", IJCV 109(3):252-286, 2014.
doi:10.1007/s11263-014-0725-5
"""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import from_rotation_translation
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.source import TrackerSource
from kambin.tracking.tools import ArucoGridBoard, ArucoMarker, ToolDefinition

# An image source returns (image, acquisition time.monotonic()) or None when it has no new frame.
ImageSource = Callable[[], "tuple[np.ndarray, float] | None"]


def _dictionary(name: str):
    if not hasattr(cv2.aruco, name):
        raise InvalidInputError(f"unknown ArUco dictionary {name!r} (e.g. DICT_4X4_50)")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def marker_corners_in_marker(size_mm: float) -> np.ndarray:
    """The 4 corners of a marker in its own frame, in OpenCV's detection order (TL, TR, BR, BL)."""
    h = size_mm / 2.0
    return np.array([[-h, h, 0.0], [h, h, 0.0], [h, -h, 0.0], [-h, -h, 0.0]])


class ArucoPoseEstimator:
    """Detects the markers of the given tools in one image and returns their poses in the camera."""

    def __init__(self, tools: list[ToolDefinition], camera_matrix: np.ndarray, distortion: np.ndarray):
        self.camera_matrix = np.asarray(camera_matrix, dtype=np.float64)
        if self.camera_matrix.shape != (3, 3):
            raise InvalidInputError(f"camera matrix must be 3x3, got {self.camera_matrix.shape}")
        self.distortion = np.asarray(distortion, dtype=np.float64).reshape(-1)
        self.tools = [t for t in tools if t.aruco is not None]
        if not self.tools or len(self.tools) != len(tools):
            raise InvalidInputError("every tool of an ArUco tracker needs an 'aruco' marker or board definition")
        self._detectors = {}
        self._boards = {}
        for tool in self.tools:
            spec = tool.aruco
            if spec.dictionary not in self._detectors:
                parameters = cv2.aruco.DetectorParameters()
                parameters.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
                self._detectors[spec.dictionary] = cv2.aruco.ArucoDetector(_dictionary(spec.dictionary), parameters)
            if isinstance(spec, ArucoGridBoard):
                ids = np.arange(spec.first_id, spec.first_id + spec.columns * spec.rows, dtype=np.int32)
                self._boards[tool.name] = cv2.aruco.GridBoard(
                    (spec.columns, spec.rows), spec.marker_mm, spec.separation_mm, _dictionary(spec.dictionary), ids
                )

    def estimate(self, image: np.ndarray) -> dict[str, ToolPose]:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        detections = {name: detector.detectMarkers(grey)[:2] for name, detector in self._detectors.items()}
        poses = {}
        for tool in self.tools:
            corners, ids = detections[tool.aruco.dictionary]
            ids = np.zeros(0, dtype=int) if ids is None else ids.reshape(-1)
            if isinstance(tool.aruco, ArucoMarker):
                hits = np.flatnonzero(ids == tool.aruco.marker_id)
                if len(hits) == 0:
                    poses[tool.name] = ToolPose.missing(tool.name, f"marker {tool.aruco.marker_id} not seen")
                    continue
                if len(hits) > 1:
                    poses[tool.name] = ToolPose(
                        tool.name,
                        np.full((4, 4), np.nan),
                        "invalid",
                        None,
                        f"marker {tool.aruco.marker_id} seen {len(hits)} times",
                    )
                    continue
                object_points = marker_corners_in_marker(tool.aruco.size_mm)
                image_points = corners[hits[0]].reshape(-1, 2).astype(np.float64)
                flag = cv2.SOLVEPNP_IPPE_SQUARE
            else:
                if len(ids) == 0:
                    poses[tool.name] = ToolPose.missing(tool.name, "no board marker seen")
                    continue
                object_points, image_points = self._boards[tool.name].matchImagePoints(corners, ids.reshape(-1, 1))
                if object_points is None or len(object_points) < 4:
                    poses[tool.name] = ToolPose.missing(tool.name, "no board marker seen")
                    continue
                object_points = object_points.reshape(-1, 3).astype(np.float64)
                image_points = image_points.reshape(-1, 2).astype(np.float64)
                flag = cv2.SOLVEPNP_ITERATIVE
            poses[tool.name] = self._solve(tool.name, object_points, image_points, flag)
        return poses

    def _solve(self, name: str, object_points: np.ndarray, image_points: np.ndarray, flag: int) -> ToolPose:
        ok, rvec, tvec = cv2.solvePnP(object_points, image_points, self.camera_matrix, self.distortion, flags=flag)
        if not ok:
            return ToolPose(name, np.full((4, 4), np.nan), "invalid", None, "solvePnP failed")
        projected, _ = cv2.projectPoints(object_points, rvec, tvec, self.camera_matrix, self.distortion)
        rms_px = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - image_points) ** 2, axis=1))))
        depth = float(tvec.reshape(3)[2])
        error_mm = rms_px * abs(depth) / float(self.camera_matrix[0, 0])
        pose = from_rotation_translation(cv2.Rodrigues(rvec)[0], tvec.reshape(3))
        return ToolPose(name, pose, "ok", error_mm)


class ArucoTracker(TrackerSource):
    """Tracker source from an image source (a video capture, a file, a simulated endoscope).

    `image_source()` returns (image, acquisition time on time.monotonic()) or None; the frame
    carries that acquisition time, not the time of detection.
    """

    def __init__(
        self,
        tools: list[ToolDefinition],
        camera_matrix: np.ndarray,
        distortion: np.ndarray,
        image_source: ImageSource,
        **kwargs,
    ):
        self.estimator = ArucoPoseEstimator(tools, camera_matrix, distortion)
        super().__init__(tuple(t.name for t in tools), **kwargs)
        self.image_source = image_source

    def _open(self) -> None:
        pass

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        deadline = time.monotonic() + timeout_s
        while True:
            item = self.image_source()
            if item is not None:
                break
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)
        image, acquired_s = item
        return TrackingFrame(float(acquired_s), self.estimator.estimate(image), self.frames_delivered)

    def _close(self) -> None:
        pass

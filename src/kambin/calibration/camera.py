"""Camera intrinsics from views of a planar board (chessboard or ChArUco), with OpenCV.

Corner detection is OpenCV's `findChessboardCorners` refined with `cornerSubPix`, or the
`cv2.aruco.CharucoDetector`; the model is fitted by `cv2.calibrateCamera`, Zhang's method
(closed-form homography initialisation, then Levenberg-Marquardt on the reprojection error with
the Brown-Conrady distortion k1 k2 p1 p2 k3).

References
----------
Z. Zhang, "A flexible new technique for camera calibration", IEEE TPAMI 22(11):1330-1334, 2000.
doi:10.1109/34.888718
S. Garrido-Jurado et al., "Automatic generation and detection of highly reliable fiducial markers
under occlusion", Pattern Recognition 47(6):2280-2292, 2014. doi:10.1016/j.patcog.2014.01.005
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kambin.calibration.intrinsics import camera_file_fields
from kambin.errors import InvalidInputError, UnreadableFileError, UnreliableResultError
from kambin.geometry.transforms import from_rotation_translation

BOARD_KINDS = ("chessboard", "charuco")
_BOARD_PATTERN = re.compile(r"^(chessboard|charuco):(\d+)x(\d+):([0-9.]+)(?::([0-9.]+))?(?::([A-Z0-9_]+))?$")


@dataclass(frozen=True)
class Board:
    """A planar calibration board.

    For a chessboard, `columns` x `rows` counts inner corners; for ChArUco it counts squares
    (the inner corners are (columns-1) x (rows-1)), with `marker_mm` the ArUco marker side and
    `dictionary` an OpenCV predefined dictionary name. `legacy_pattern` selects the ChArUco
    layout of OpenCV < 4.6 (used by scikit-surgery's boards).
    """

    kind: str
    columns: int
    rows: int
    square_mm: float
    marker_mm: float | None = None
    dictionary: str = "DICT_4X4_250"
    legacy_pattern: bool = False

    def __post_init__(self) -> None:
        if self.kind not in BOARD_KINDS:
            raise InvalidInputError(f"board kind must be one of {BOARD_KINDS}, not {self.kind!r}")
        if self.columns < 2 or self.rows < 2 or self.square_mm <= 0:
            raise InvalidInputError(
                f"board needs at least 2x2 and a positive square size, got {self.columns}x{self.rows}:{self.square_mm}"
            )
        if self.kind == "charuco":
            if self.marker_mm is None or not 0 < self.marker_mm < self.square_mm:
                raise InvalidInputError(
                    f"a ChArUco board needs a marker size between 0 and the square size {self.square_mm} mm, "
                    f"got {self.marker_mm}"
                )
            if not hasattr(cv2.aruco, self.dictionary):
                raise InvalidInputError(f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_250)")

    @classmethod
    def parse(cls, text: str) -> Board:
        """Parse `chessboard:COLSxROWS:MM` or `charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT]`."""
        match = _BOARD_PATTERN.match(text.strip())
        if not match:
            raise InvalidInputError(
                f"board must look like chessboard:14x10:3 or charuco:13x10:3:2:DICT_4X4_250, got {text!r}"
            )
        kind, cols, rows, square, marker, dictionary = match.groups()
        if kind == "chessboard" and marker is not None:
            raise InvalidInputError(f"a chessboard takes COLSxROWS:MM only, got {text!r}")
        return cls(
            kind=kind,
            columns=int(cols),
            rows=int(rows),
            square_mm=float(square),
            marker_mm=None if marker is None else float(marker),
            dictionary=dictionary or "DICT_4X4_250",
        )

    def object_points(self) -> np.ndarray:
        """Inner-corner positions on the board (M, 3) in mm, z = 0, row-major from corner 0."""
        cols, rows = (self.columns, self.rows) if self.kind == "chessboard" else (self.columns - 1, self.rows - 1)
        grid = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * self.square_mm
        return np.hstack([grid, np.zeros((len(grid), 1))])

    def _charuco(self):
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        board = cv2.aruco.CharucoBoard((self.columns, self.rows), self.square_mm, self.marker_mm, dictionary)
        board.setLegacyPattern(self.legacy_pattern)
        return board


@dataclass(frozen=True)
class CameraCalibration:
    """Pinhole intrinsics with Brown-Conrady distortion, and per-view board poses.

    Attributes:
        camera_matrix: 3x3 K (pixels).
        distortion: (k1, k2, p1, p2, k3).
        rms_px: RMS reprojection error over all corners, as returned by cv2.calibrateCamera.
        image_size: (width, height) in pixels.
        board_to_camera: one 4x4 transform per view (mm).
        per_view_rms_px: RMS reprojection error of each view.
    """

    camera_matrix: np.ndarray
    distortion: np.ndarray
    rms_px: float
    image_size: tuple[int, int]
    board_to_camera: tuple[np.ndarray, ...]
    per_view_rms_px: np.ndarray

    def as_dict(self) -> dict:
        """The camera file's fields (`calibration.intrinsics`), with the calibration's residuals."""
        return {
            **camera_file_fields(self.camera_matrix, self.distortion, self.image_size),
            "rms_px": self.rms_px,
            "per_view_rms_px": self.per_view_rms_px.tolist(),
            "n_views": len(self.board_to_camera),
        }


def read_image(path: Path | str, grey: bool = True) -> np.ndarray:
    """Read an image file with OpenCV, raising UnreadableFileError if it is missing or not an image."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"image {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableFileError(f"{path} is not an image OpenCV can read (PNG, JPEG, TIFF, ...)")
    return image


def _grey(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim != 2:
        raise InvalidInputError(f"an image must be 2D (grey) or 3D (colour), got shape {image.shape}")
    return image


def detect_chessboard(image: np.ndarray, board: Board) -> np.ndarray | None:
    """Inner corners (M, 2) in pixels, in `board.object_points()` order, or None if not all found."""
    if board.kind != "chessboard":
        raise InvalidInputError(f"detect_chessboard needs a chessboard, got a {board.kind} board")
    grey = _grey(image)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    found, corners = cv2.findChessboardCorners(grey, (board.columns, board.rows), flags=flags)
    if not found:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)
    corners = cv2.cornerSubPix(grey, corners, (11, 11), (-1, -1), criteria)
    return corners.reshape(-1, 2).astype(np.float64)


def detect_charuco(image: np.ndarray, board: Board) -> tuple[np.ndarray, np.ndarray]:
    """ChArUco corners found: (ids (K,), pixels (K, 2)); empty arrays if none."""
    if board.kind != "charuco":
        raise InvalidInputError(f"detect_charuco needs a ChArUco board, got a {board.kind} board")
    detector = cv2.aruco.CharucoDetector(board._charuco())
    corners, ids, _, _ = detector.detectBoard(_grey(image))
    if corners is None or ids is None:
        return np.zeros(0, dtype=int), np.zeros((0, 2))
    return ids.reshape(-1).astype(int), corners.reshape(-1, 2).astype(np.float64)


def calibrate_camera(
    object_points: list[np.ndarray],
    image_points: list[np.ndarray],
    image_size: tuple[int, int],
    max_rms_px: float | None = None,
    flags: int = 0,
) -> CameraCalibration:
    """Fit intrinsics to corresponding board points (M_i, 3) and pixels (M_i, 2) in each view.

    Needs at least 3 views (Zhang 2000: two homographies give only two constraints per view on
    the five intrinsics). Raises UnreliableResultError if the RMS exceeds `max_rms_px`.
    """
    if len(object_points) != len(image_points):
        raise InvalidInputError(f"{len(object_points)} board point sets but {len(image_points)} image point sets")
    if len(object_points) < 3:
        raise UnreliableResultError(f"camera calibration needs at least 3 views of the board, got {len(object_points)}")
    objects, images = [], []
    for n, (obj, img) in enumerate(zip(object_points, image_points, strict=True)):
        obj = np.asarray(obj, dtype=np.float32).reshape(-1, 3)
        img = np.asarray(img, dtype=np.float32).reshape(-1, 2)
        if len(obj) != len(img) or len(obj) < 4:
            raise InvalidInputError(f"view {n}: {len(obj)} board points for {len(img)} image points (need >= 4, equal)")
        objects.append(obj)
        images.append(img)
    width, height = (int(v) for v in image_size)
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(objects, images, (width, height), None, None, flags=flags)
    poses, per_view = [], []
    for obj, img, rvec, tvec in zip(objects, images, rvecs, tvecs, strict=True):
        poses.append(from_rotation_translation(cv2.Rodrigues(rvec)[0], tvec.reshape(3)))
        projected, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
        per_view.append(float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - img) ** 2, axis=1)))))
    result = CameraCalibration(k, dist.reshape(-1), float(rms), (width, height), tuple(poses), np.array(per_view))
    if max_rms_px is not None and result.rms_px > max_rms_px:
        worst = int(np.argmax(result.per_view_rms_px))
        raise UnreliableResultError(
            f"camera calibration refused: RMS reprojection error {result.rms_px:.3f} px exceeds {max_rms_px:g} px "
            f"(worst view #{worst}, {result.per_view_rms_px[worst]:.2f} px); drop blurred views and retake"
        )
    return result


def calibrate_camera_from_images(
    paths: list[Path | str], board: Board, max_rms_px: float | None = None
) -> tuple[CameraCalibration, list[Path]]:
    """Detect the board in each image and calibrate; returns the result and the images used.

    Images where the board is not found (all chessboard corners, or at least 6 ChArUco corners)
    are skipped; all images must share one size.
    """
    objects, images, used, size = [], [], [], None
    model = board.object_points()
    for path in map(Path, paths):
        image = read_image(path)
        this_size = (image.shape[1], image.shape[0])
        if size is None:
            size = this_size
        elif this_size != size:
            raise InvalidInputError(
                f"{path} is {this_size[0]}x{this_size[1]} but earlier images are {size[0]}x{size[1]}"
            )
        if board.kind == "chessboard":
            corners = detect_chessboard(image, board)
            if corners is None:
                continue
            objects.append(model)
            images.append(corners)
        else:
            ids, corners = detect_charuco(image, board)
            if len(ids) < 6:
                continue
            objects.append(model[ids])
            images.append(corners)
        used.append(path)
    if len(used) < 3:
        raise UnreliableResultError(
            f"the board was found in {len(used)} of {len(paths)} image(s); camera calibration needs at least 3 "
            "(check the --board size: inner corners for a chessboard)"
        )
    return calibrate_camera(objects, images, size, max_rms_px=max_rms_px), used

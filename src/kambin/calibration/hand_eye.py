"""Hand-eye calibration: where the endoscope's camera sits relative to the marker tracked on it.

The tracker reports `marker_to_tracker` for each view; the camera sees a calibration board fixed
in the room and gives `board_to_camera` (from `calibrate_camera` or solvePnP). The unknown is
X = `camera_to_marker`. For two views i, j the board does not move, so
    A X = X B,  A = inv(marker_to_tracker_j) @ marker_to_tracker_i,  B = board_to_camera_j @ inv(board_to_camera_i)
(the classic AX = XB of robot hand-eye calibration, gripper = marker, target = board).

Methods are those of OpenCV's `calibrateHandEye`: Tsai & Lenz 1989, Park & Martin 1994 and
Daniilidis 1999. OpenCV 5.0's Python bindings do not expose `calibrateHandEye`, so the three are
implemented here in numpy; when the installed OpenCV does expose it, `use_opencv=True` calls it
instead (the tests compare the two where both exist).

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

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import check_rigid, from_rotation_translation, invert

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


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


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


def _translation(a_list: list, b_list: list, rotation: np.ndarray) -> np.ndarray:
    """Least squares (R_A - I) t_X = R_X t_B - t_A over all motions (Tsai 1989 eq. 13 / Park eq. 23)."""
    lhs = np.vstack([a[:3, :3] - np.eye(3) for a in a_list])
    rhs = np.concatenate([rotation @ b[:3, 3] - a[:3, 3] for a, b in zip(a_list, b_list, strict=True)])
    t, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    return t


def _tsai(a_list: list, b_list: list) -> np.ndarray:
    # Modified Rodrigues vectors P = 2 sin(theta/2) axis (Tsai & Lenz 1989, eqs. 9-12).
    def prv(m: np.ndarray) -> np.ndarray:
        rotvec = Rotation.from_matrix(m[:3, :3]).as_rotvec()
        angle = np.linalg.norm(rotvec)
        return 2.0 * np.sin(angle / 2.0) * rotvec / angle

    lhs = np.vstack([_skew(prv(a) + prv(b)) for a, b in zip(a_list, b_list, strict=True)])
    rhs = np.concatenate([prv(b) - prv(a) for a, b in zip(a_list, b_list, strict=True)])
    p_prime, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
    p = 2.0 * p_prime / np.sqrt(1.0 + p_prime @ p_prime)
    pp = p @ p
    rotation = (1.0 - pp / 2.0) * np.eye(3) + 0.5 * (np.outer(p, p) + np.sqrt(4.0 - pp) * _skew(p))
    return from_rotation_translation(rotation, _translation(a_list, b_list, rotation))


def _park(a_list: list, b_list: list) -> np.ndarray:
    # Park & Martin 1994, eqs. 16-20: R_X = (M^T M)^(-1/2) M^T with M = sum beta_k alpha_k^T.
    m = np.zeros((3, 3))
    for a, b in zip(a_list, b_list, strict=True):
        alpha = Rotation.from_matrix(a[:3, :3]).as_rotvec()
        beta = Rotation.from_matrix(b[:3, :3]).as_rotvec()
        m += np.outer(beta, alpha)
    w, v = np.linalg.eigh(m.T @ m)
    if w.min() <= 1e-12:
        raise UnreliableResultError("hand-eye: the motions rotate about a single axis; rotate the scope about two")
    rotation = v @ np.diag(w**-0.5) @ v.T @ m.T
    return from_rotation_translation(rotation, _translation(a_list, b_list, rotation))


def _dual_quaternion(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, z, w = Rotation.from_matrix(m[:3, :3]).as_quat()
    q = np.array([w, x, y, z])
    if q[0] < 0:
        q = -q
    t = np.concatenate([[0.0], m[:3, 3]])
    return q, 0.5 * _qmul(t, q)


def _qmul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    pw, pv, qw, qv = p[0], p[1:], q[0], q[1:]
    return np.concatenate([[pw * qw - pv @ qv], pw * qv + qw * pv + np.cross(pv, qv)])


def _daniilidis(a_list: list, b_list: list) -> np.ndarray:
    # Daniilidis 1999, eq. 31: for each motion a 6x8 block on (q, q'), solved by SVD (sec. 6).
    blocks = []
    for a, b in zip(a_list, b_list, strict=True):
        qa, qa_d = _dual_quaternion(a)
        qb, qb_d = _dual_quaternion(b)
        top = np.hstack([(qa[1:] - qb[1:])[:, None], _skew(qa[1:] + qb[1:]), np.zeros((3, 4))])
        bottom = np.hstack(
            [
                (qa_d[1:] - qb_d[1:])[:, None],
                _skew(qa_d[1:] + qb_d[1:]),
                (qa[1:] - qb[1:])[:, None],
                _skew(qa[1:] + qb[1:]),
            ]
        )
        blocks += [top, bottom]
    _, _, vt = np.linalg.svd(np.vstack(blocks))
    v7, v8 = vt[6], vt[7]
    u1, w1, u2, w2 = v7[:4], v7[4:], v8[:4], v8[4:]
    # lambda1 v7 + lambda2 v8 with |q| = 1 and q . q' = 0 (eqs. 34-35).
    coeffs = [u1 @ w1, u1 @ w2 + u2 @ w1, u2 @ w2]
    roots = np.roots(coeffs) if abs(coeffs[0]) > 1e-15 else np.array([-coeffs[2] / coeffs[1]])
    roots = roots[np.isreal(roots)].real
    if len(roots) == 0:
        raise UnreliableResultError("hand-eye (Daniilidis): no real solution; the motions are degenerate or too noisy")
    values = [s * s * (u1 @ u1) + 2 * s * (u1 @ u2) + u2 @ u2 for s in roots]
    best = int(np.argmax(values))
    s = roots[best]
    lambda2 = 1.0 / np.sqrt(values[best])
    lambda1 = s * lambda2
    q = lambda1 * u1 + lambda2 * u2
    q_d = lambda1 * w1 + lambda2 * w2
    translation = 2.0 * _qmul(q_d, q * np.array([1.0, -1.0, -1.0, -1.0]))[1:]
    rotation = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()
    return from_rotation_translation(rotation, translation)


def _opencv(marker_to_tracker: np.ndarray, board_to_camera: np.ndarray, method: str) -> np.ndarray:
    rotation, translation = cv2.calibrateHandEye(  # type: ignore[attr-defined]
        [m[:3, :3] for m in marker_to_tracker],
        [m[:3, 3] for m in marker_to_tracker],
        [m[:3, :3] for m in board_to_camera],
        [m[:3, 3] for m in board_to_camera],
        method=_OPENCV_FLAGS[method],
    )
    return from_rotation_translation(rotation, translation.reshape(3))


def opencv_has_hand_eye() -> bool:
    """True if the installed OpenCV's Python bindings expose `calibrateHandEye` (OpenCV 4.x does, 5.0 does not)."""
    return hasattr(cv2, "calibrateHandEye")


def hand_eye_calibration(
    marker_to_tracker: np.ndarray,
    board_to_camera: np.ndarray,
    method: str = "tsai",
    max_spread_mm: float | None = None,
    use_opencv: bool = False,
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
    if use_opencv:
        if not opencv_has_hand_eye():
            raise InvalidInputError(f"this OpenCV ({cv2.__version__}) has no calibrateHandEye; use use_opencv=False")
        camera_to_marker = _opencv(markers, boards, method)
    else:
        camera_to_marker = {"tsai": _tsai, "park": _park, "daniilidis": _daniilidis}[method](a_list, b_list)
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

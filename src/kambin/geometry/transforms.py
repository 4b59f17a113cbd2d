"""4x4 rigid transforms: build, check, invert, apply, and convert to and from rotation vectors
and unit quaternions.

Quaternions are scalar-first `(w, x, y, z)`, the convention of OpenIGTLink, PLUS and
pytransform3d. Rotation conversions are delegated to `scipy.spatial.transform.Rotation`
(Shoemake's quaternion algorithms), which is tested and numerically careful.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from kambin.errors import InvalidInputError

RIGID_TOLERANCE = 1e-6


def from_rotation_translation(rotation: np.ndarray, translation_mm: np.ndarray) -> np.ndarray:
    """Return the 4x4 transform with the given 3x3 rotation and translation (mm)."""
    rotation = np.asarray(rotation, dtype=np.float64)
    translation_mm = np.asarray(translation_mm, dtype=np.float64)
    if rotation.shape != (3, 3) or translation_mm.shape != (3,):
        raise InvalidInputError(
            f"rotation must be 3x3 and translation length 3, got {rotation.shape} and "
            f"{translation_mm.shape}"
        )
    a_to_b = np.eye(4)
    a_to_b[:3, :3] = rotation
    a_to_b[:3, 3] = translation_mm
    return a_to_b


def is_rigid(a_to_b: np.ndarray, tolerance: float = RIGID_TOLERANCE) -> bool:
    """True if `a_to_b` is a finite 4x4 proper rigid transform (orthonormal, det +1, last row 0001)."""
    m = np.asarray(a_to_b, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return False
    rotation = m[:3, :3]
    return bool(
        np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=tolerance)
        and np.allclose(rotation.T @ rotation, np.eye(3), atol=tolerance)
        and abs(np.linalg.det(rotation) - 1.0) < tolerance
    )


def check_rigid(a_to_b: np.ndarray, name: str = "transform", tolerance: float = RIGID_TOLERANCE) -> np.ndarray:
    """Return `a_to_b` as float64 if it is rigid, else raise `InvalidInputError` naming the fault."""
    m = np.asarray(a_to_b, dtype=np.float64)
    if m.shape != (4, 4):
        raise InvalidInputError(f"{name} must be a 4x4 matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    if not is_rigid(m, tolerance):
        rotation = m[:3, :3]
        orthogonality_error = float(np.abs(rotation.T @ rotation - np.eye(3)).max())
        raise InvalidInputError(
            f"{name} is not a rigid transform (orthogonality error {orthogonality_error:.2e}, "
            f"det {np.linalg.det(rotation):.6f}, last row {m[3].tolist()}); "
            "re-orthonormalise it or check its source"
        )
    return m


def invert(a_to_b: np.ndarray) -> np.ndarray:
    """Return `b_to_a` for a rigid `a_to_b`, using R^T and -R^T t (exact, no general inverse)."""
    m = np.asarray(a_to_b, dtype=np.float64)
    rotation_t = m[:3, :3].T
    b_to_a = np.eye(4)
    b_to_a[:3, :3] = rotation_t
    b_to_a[:3, 3] = -rotation_t @ m[:3, 3]
    return b_to_a


def apply_transform(a_to_b: np.ndarray, points_in_a: np.ndarray) -> np.ndarray:
    """Map points (3,) or (N, 3) from frame a to frame b."""
    points = np.asarray(points_in_a, dtype=np.float64)
    m = np.asarray(a_to_b, dtype=np.float64)
    return points @ m[:3, :3].T + m[:3, 3]


def from_axis_angle(rotation_vector_rad: np.ndarray, translation_mm: np.ndarray | None = None) -> np.ndarray:
    """Transform from a rotation vector (unit axis times angle in radians) and a translation."""
    rotation = Rotation.from_rotvec(np.asarray(rotation_vector_rad, dtype=np.float64)).as_matrix()
    return from_rotation_translation(rotation, np.zeros(3) if translation_mm is None else translation_mm)


def to_axis_angle(a_to_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (rotation vector in radians, translation in mm) of a rigid transform."""
    m = np.asarray(a_to_b, dtype=np.float64)
    return Rotation.from_matrix(m[:3, :3]).as_rotvec(), m[:3, 3].copy()


def from_quaternion(quaternion_wxyz: np.ndarray, translation_mm: np.ndarray | None = None) -> np.ndarray:
    """Transform from a unit quaternion (w, x, y, z) and a translation.

    The quaternion must have unit norm to within 1e-3; a far-from-unit one is refused rather
    than silently normalised, because it usually means the fields were read in the wrong order.
    """
    q = np.asarray(quaternion_wxyz, dtype=np.float64)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise InvalidInputError(f"quaternion must be 4 finite numbers (w, x, y, z), got {q.tolist()}")
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > 1e-3:
        raise InvalidInputError(f"quaternion must have unit norm, got norm {norm:.6f}")
    rotation = Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()
    return from_rotation_translation(rotation, np.zeros(3) if translation_mm is None else translation_mm)


def to_quaternion(a_to_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit quaternion (w, x, y, z) with w >= 0, translation in mm)."""
    m = np.asarray(a_to_b, dtype=np.float64)
    x, y, z, w = Rotation.from_matrix(m[:3, :3]).as_quat()
    q = np.array([w, x, y, z])
    if q[0] < 0:
        q = -q
    return q, m[:3, 3].copy()

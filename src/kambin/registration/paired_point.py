"""Paired-point rigid registration: the least-squares rotation and translation between two point sets.

The closed form is the SVD solution of Arun, Huang & Blostein (1987), with the reflection fix of
Umeyama (1991) (equivalently Horn's 1987 quaternion solution, which is a proper rotation by
construction). Quality gates refuse a configuration that cannot fix a rotation (fewer than three
points, or collinear points) and, optionally, a result whose fiducial registration error is too
large.

References
----------
K. S. Arun, T. S. Huang, S. D. Blostein, "Least-squares fitting of two 3-D point sets", IEEE
TPAMI 9(5):698-700, 1987. doi:10.1109/TPAMI.1987.4767965
B. K. P. Horn, "Closed-form solution of absolute orientation using unit quaternions", JOSA A
4(4):629-642, 1987. doi:10.1364/JOSAA.4.000629
S. Umeyama, "Least-squares estimation of transformation parameters between two point patterns",
IEEE TPAMI 13(4):376-380, 1991. doi:10.1109/34.88573
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import apply_transform, from_rotation_translation

# A point set whose second principal extent is below this fraction of its first is treated as
# collinear: the rotation about that line is then not determined by the points.
COLLINEARITY_RATIO = 1e-3


@dataclass(frozen=True)
class PairedPointResult:
    """The transform mapping `moving` points onto `fixed` ones, and how well it fits.

    Attributes:
        moving_to_fixed: 4x4 rigid transform.
        fre_mm: root-mean-square fiducial registration error (distance after registration).
        residuals_mm: per-point distance after registration, shape (N,).
        fiducials_in_moving: the moving points (N, 3), kept for TRE prediction.
    """

    moving_to_fixed: np.ndarray
    fre_mm: float
    residuals_mm: np.ndarray
    fiducials_in_moving: np.ndarray


def as_points(points: np.ndarray, name: str) -> np.ndarray:
    """Return `points` as a finite (N, 3) float64 array or raise InvalidInputError."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise InvalidInputError(f"{name} must have shape (N, 3), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise InvalidInputError(f"{name} contains NaN or infinite coordinates")
    return p


def check_configuration(points: np.ndarray, name: str = "fiducials") -> None:
    """Refuse fewer than three points, or points that lie on (nearly) one line.

    The test is on the singular values of the centred points: the second one measures the
    extent across the best-fit line; compared with the first it is scale-free.
    """
    if len(points) < 3:
        raise UnreliableResultError(
            f"{name}: {len(points)} point(s) cannot fix a rigid transform; use at least 3 non-collinear points"
        )
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    if singular[0] <= 0 or singular[1] / singular[0] < COLLINEARITY_RATIO:
        raise UnreliableResultError(
            f"{name} are collinear (spread across their line is "
            f"{singular[1] / max(singular[0], 1e-300):.2e} of the spread along it); the rotation about "
            "that line is undetermined: add a fiducial off the line"
        )


def rigid_fit(moving: np.ndarray, fixed: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares `moving_to_fixed` (4x4) for paired (N, 3) points, optionally weighted.

    No input checks and no quality gates: the inner step shared by paired-point registration and
    ICP. Arun 1987 eqs. 5-13 with Umeyama's reflection fix (1991, eq. 39): if det(V U^T) < 0 the
    sign of the last singular vector is flipped so the result is a rotation, not a reflection.
    """
    w = np.ones(len(moving)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    moving_centroid = w @ moving  # Arun eq. 4
    fixed_centroid = w @ fixed
    q_moving = moving - moving_centroid
    q_fixed = fixed - fixed_centroid
    h = (q_moving * w[:, None]).T @ q_fixed  # Arun eq. 11: H = sum q_i q'_i^T
    u, _, vt = np.linalg.svd(h)  # Arun eq. 12
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T  # Arun eq. 13, Umeyama eq. 39
    translation = fixed_centroid - rotation @ moving_centroid  # Arun eq. 10
    return from_rotation_translation(rotation, translation)


def register_paired_points(
    fixed: np.ndarray,
    moving: np.ndarray,
    max_fre_mm: float | None = None,
) -> PairedPointResult:
    """Register `moving` points onto `fixed` ones (same order): returns `moving_to_fixed`.

    Example: fixed = fiducials in CT, moving = the same fiducials touched with the tracked pointer
    in the reference frame; the result is `reference_to_ct`.

    Raises InvalidInputError for mismatched or malformed inputs, and UnreliableResultError for
    fewer than 3 or collinear points (in either set) or, when `max_fre_mm` is given, an RMS FRE
    above it.
    """
    fixed = as_points(fixed, "fixed points")
    moving = as_points(moving, "moving points")
    if fixed.shape != moving.shape:
        raise InvalidInputError(f"fixed and moving points must pair one to one, got {len(fixed)} and {len(moving)}")
    check_configuration(moving, "moving points")
    check_configuration(fixed, "fixed points")
    moving_to_fixed = rigid_fit(moving, fixed)
    residuals = np.linalg.norm(apply_transform(moving_to_fixed, moving) - fixed, axis=1)
    fre = float(np.sqrt(np.mean(residuals**2)))
    if max_fre_mm is not None and fre > max_fre_mm:
        worst = int(np.argmax(residuals))
        raise UnreliableResultError(
            f"registration refused: FRE {fre:.3f} mm exceeds the {max_fre_mm:g} mm limit (worst point "
            f"#{worst} off by {residuals[worst]:.2f} mm); re-touch the fiducials or check their order"
        )
    return PairedPointResult(moving_to_fixed, fre, residuals, moving)


def fiducial_registration_error(moving_to_fixed: np.ndarray, fixed: np.ndarray, moving: np.ndarray) -> float:
    """RMS distance (mm) between `fixed` and the transformed `moving` points."""
    fixed = as_points(fixed, "fixed points")
    moving = as_points(moving, "moving points")
    if fixed.shape != moving.shape:
        raise InvalidInputError(f"point sets differ in size: {len(fixed)} and {len(moving)}")
    d = apply_transform(moving_to_fixed, moving) - fixed
    return float(np.sqrt(np.mean(np.sum(d * d, axis=1))))

"""Pivot calibration: the tip of a tracked pointer, from poses taken while it pivots about its tip.

Every pose `pointer_to_tracker` = [R_i | t_i] maps the fixed tip offset `tip_in_pointer` onto the
fixed pivot point `pivot_in_tracker`: R_i tip + t_i = pivot. Stacking the N poses gives the
3N x 6 linear system [R_i  -I] [tip; pivot] = -t_i, solved in the least-squares sense
(the algebraic method of Yaniv 2015, sec. 2.1). The robust variant re-solves it with iteratively
reweighted least squares (Tukey's biweight on the per-pose 3D residual), so a few poses taken
while the tip slipped do not pull the answer.

References
----------
Z. Yaniv, "Which pivot calibration?", Proc. SPIE 9415, Medical Imaging 2015: Image-Guided
Procedures, 941527. doi:10.1117/12.2081348
P. W. Holland, R. E. Welsch, "Robust regression using iteratively reweighted least-squares",
Communications in Statistics 6(9):813-827, 1977. doi:10.1080/03610927708827533
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import is_rigid

# The rotations must span at least this angle (about two independent axes) for the tip to be
# determined; below it the system is near-singular and the tip can slide along the pointer axis.
MIN_ROTATION_SPREAD_DEG = 10.0


@dataclass(frozen=True)
class PivotResult:
    """Pivot calibration result.

    Attributes:
        tip_in_pointer_mm: the tip offset in the pointer (marker) frame.
        pivot_in_tracker_mm: the pivot point in the tracker frame.
        rms_mm: RMS over the 3N scalar residuals (the figure scikit-surgery reports).
        rms_3d_mm: RMS of the N per-pose 3D residual distances (= sqrt(3) * rms_mm).
        residuals_mm: per-pose 3D residual distance, shape (N,).
        inliers: boolean mask of poses used (all True for plain least squares).
        condition_number: of the 3N x 6 system; large means the rotations were too small.
    """

    tip_in_pointer_mm: np.ndarray
    pivot_in_tracker_mm: np.ndarray
    rms_mm: float
    rms_3d_mm: float
    residuals_mm: np.ndarray
    inliers: np.ndarray
    condition_number: float

    def as_dict(self) -> dict:
        return {
            "tip_in_tool_mm": self.tip_in_pointer_mm.tolist(),
            "pivot_in_tracker_mm": self.pivot_in_tracker_mm.tolist(),
            "rms_mm": self.rms_mm,
            "rms_3d_mm": self.rms_3d_mm,
            "n_poses": int(len(self.residuals_mm)),
            "n_inliers": int(self.inliers.sum()),
            "condition_number": self.condition_number,
        }


def _check_poses(pointer_to_tracker: np.ndarray) -> np.ndarray:
    poses = np.asarray(pointer_to_tracker, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise InvalidInputError(f"poses must have shape (N, 4, 4), got {poses.shape}")
    if len(poses) < 4:
        raise InvalidInputError(f"pivot calibration needs at least 4 poses, got {len(poses)}")
    bad = [i for i, m in enumerate(poses) if not is_rigid(m, tolerance=1e-4)]
    if bad:
        raise InvalidInputError(
            f"{len(bad)} pose(s) are not rigid transforms or contain NaN (first: #{bad[0]}); "
            "drop invalid tracker samples before calibrating"
        )
    return poses


def _rotation_spread_deg(rotations: np.ndarray) -> float:
    """Largest angle (degrees) between any pose's rotation and the mean pose's, over the set."""
    mean = rotations.mean(axis=0)
    u, _, vt = np.linalg.svd(mean)
    mean_rotation = u @ vt
    cos = (np.einsum("nij,ij->n", rotations, mean_rotation) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).max())


def _solve(poses: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    n = len(poses)
    a = np.concatenate([poses[:, :3, :3], -np.broadcast_to(np.eye(3), (n, 3, 3))], axis=2)
    b = -poses[:, :3, 3]
    sw = np.sqrt(weights)[:, None, None]
    a_w = (a * sw).reshape(-1, 6)
    b_w = (b * sw[:, :, 0]).reshape(-1)
    x, *_ = np.linalg.lstsq(a_w, b_w, rcond=None)
    singular = np.linalg.svd(a_w, compute_uv=False)
    return x, float(singular[0] / max(singular[-1], 1e-300))


def _residuals(poses: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(N, 3) residual vectors R_i tip + t_i - pivot."""
    return np.einsum("nij,j->ni", poses[:, :3, :3], x[:3]) + poses[:, :3, 3] - x[3:]


def _result(poses: np.ndarray, x: np.ndarray, inliers: np.ndarray, condition: float) -> PivotResult:
    r = _residuals(poses, x)
    distances = np.linalg.norm(r, axis=1)
    used = r[inliers]
    return PivotResult(
        tip_in_pointer_mm=x[:3].copy(),
        pivot_in_tracker_mm=x[3:].copy(),
        rms_mm=float(np.sqrt(np.mean(used**2))),
        rms_3d_mm=float(np.sqrt(np.mean(np.sum(used**2, axis=1)))),
        residuals_mm=distances,
        inliers=inliers,
        condition_number=condition,
    )


def pivot_calibration(pointer_to_tracker: np.ndarray, max_rms_mm: float | None = None) -> PivotResult:
    """Algebraic least-squares pivot calibration (Yaniv 2015) from (N, 4, 4) `pointer_to_tracker`.

    Raises InvalidInputError for malformed or non-rigid poses and UnreliableResultError when the
    poses do not rotate enough to determine the tip, or the RMS residual exceeds `max_rms_mm`.
    """
    poses = _check_poses(pointer_to_tracker)
    spread = _rotation_spread_deg(poses[:, :3, :3])
    if spread < MIN_ROTATION_SPREAD_DEG:
        raise UnreliableResultError(
            f"the pointer rotated at most {spread:.1f} deg about its tip; pivot it through at least "
            f"{MIN_ROTATION_SPREAD_DEG:g} deg in two directions"
        )
    x, condition = _solve(poses, np.ones(len(poses)))
    result = _result(poses, x, np.ones(len(poses), dtype=bool), condition)
    _gate(result, max_rms_mm)
    return result


def robust_pivot_calibration(
    pointer_to_tracker: np.ndarray,
    max_rms_mm: float | None = None,
    tuning_constant: float = 4.685,
    max_iterations: int = 50,
) -> PivotResult:
    """Pivot calibration by IRLS with Tukey's biweight (Holland & Welsch 1977) on 3D residuals.

    The scale is re-estimated each iteration as 1.4826 * median residual distance (MAD); poses
    with zero weight at convergence are reported as outliers (`inliers` False), and the RMS
    figures are over inliers only.
    """
    poses = _check_poses(pointer_to_tracker)
    spread = _rotation_spread_deg(poses[:, :3, :3])
    if spread < MIN_ROTATION_SPREAD_DEG:
        raise UnreliableResultError(
            f"the pointer rotated at most {spread:.1f} deg about its tip; pivot it through at least "
            f"{MIN_ROTATION_SPREAD_DEG:g} deg in two directions"
        )
    weights = np.ones(len(poses))
    x, condition = _solve(poses, weights)
    for _ in range(max_iterations):
        distances = np.linalg.norm(_residuals(poses, x), axis=1)
        scale = 1.4826 * float(np.median(distances))
        if scale <= 1e-12:
            break
        u = distances / (tuning_constant * scale)
        new_weights = np.where(u < 1.0, (1.0 - u**2) ** 2, 0.0)
        if np.count_nonzero(new_weights) < 4:
            raise UnreliableResultError("robust pivot calibration rejected almost every pose; re-record the pivot")
        x_new, condition = _solve(poses, new_weights)
        converged = np.abs(x_new - x).max() < 1e-6
        x, weights = x_new, new_weights
        if converged:
            break
    result = _result(poses, x, weights > 0, condition)
    _gate(result, max_rms_mm)
    return result


def _gate(result: PivotResult, max_rms_mm: float | None) -> None:
    if max_rms_mm is not None and result.rms_mm > max_rms_mm:
        raise UnreliableResultError(
            f"pivot calibration refused: RMS residual {result.rms_mm:.3f} mm exceeds the {max_rms_mm:g} mm "
            "limit; keep the tip still in the divot and pivot again"
        )

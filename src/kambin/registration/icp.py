"""Surface registration: point-to-plane ICP from a traced pointer path to the CT bone surface.

After a coarse phase of trimmed point-to-point iterations (Besl & McKay 1992), which converges
from farther away, each iteration pairs every traced point p_i (mapped by the current `moving_to_fixed`) with the
closest surface sample q_i and its normal n_i, and minimises sum w_i ((R p_i + t - q_i) . n_i)^2
linearised for a small rotation (Chen & Medioni 1992; the linear least-squares form of Low 2004):
    [p_i x n_i, n_i] [omega; t] = -(p_i - q_i) . n_i
The update is applied as an exact rotation. Pairs farther than `max_distance_mm` (and, after
the first iterations, than 3 robust standard deviations) are dropped, and Tukey weights damp the
rest, so that points touched on soft tissue or off the modelled bone do not pull the result.

Quality gates refuse: too few points; a traced surface that leaves a motion unconstrained (the
6x6 normal matrix is near-singular: e.g. points on one plane, sphere or cylinder); a final RMS
point-to-plane residual above `max_rms_mm`; too few inliers; no convergence.

References
----------
P. J. Besl, N. D. McKay, "A method for registration of 3-D shapes", IEEE TPAMI 14(2):239-256,
1992. doi:10.1109/34.121791
Y. Chen, G. Medioni, "Object modelling by registration of multiple range images", Image and
Vision Computing 10(3):145-155, 1992. doi:10.1016/0262-8856(92)90066-C
K.-L. Low, "Linear least-squares optimization for point-to-plane ICP surface registration",
Technical Report TR04-004, University of North Carolina at Chapel Hill, 2004.
N. Gelfand, L. Ikemoto, S. Rusinkiewicz, M. Levoy, "Geometrically stable sampling for the ICP
algorithm", Proc. 3DIM 2003, 260-267. doi:10.1109/IM.2003.1240258 (the constraint analysis)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError, UnreliableResultError
from kambin.geometry.transforms import apply_transform, check_rigid, from_axis_angle, to_axis_angle
from kambin.registration.paired_point import as_points, rigid_fit
from kambin.registration.surface import SurfaceModel

MIN_POINTS = 12
# Smallest/largest eigenvalue of the scaled 6x6 normal matrix below this: a motion is unconstrained.
MIN_CONSTRAINT_RATIO = 1e-3


@dataclass(frozen=True)
class IcpResult:
    """Result of surface ICP.

    Attributes:
        moving_to_fixed: 4x4 rigid transform (e.g. reference_to_ct).
        rms_mm: RMS point-to-plane residual over inliers.
        inlier_fraction: fraction of points kept at the end.
        iterations: iterations run.
        constraint_ratio: smallest/largest eigenvalue of the scaled normal matrix (Gelfand 2003);
            small means the traced surface lets the registration slide.
    """

    moving_to_fixed: np.ndarray
    rms_mm: float
    inlier_fraction: float
    iterations: int
    constraint_ratio: float


def _system(p, q, n, w, scale):
    """Weighted normal equations of the linearised point-to-plane problem."""
    a = np.hstack([np.cross(p, n) / scale, n])  # rotation columns scaled to mm
    b = -np.sum((p - q) * n, axis=1)
    aw = a * w[:, None]
    return aw.T @ a, aw.T @ b


def icp_point_to_plane(
    moving_points: np.ndarray,
    surface: SurfaceModel,
    initial_moving_to_fixed: np.ndarray | None = None,
    max_iterations: int = 100,
    coarse_iterations: int = 20,
    max_distance_mm: float = 15.0,
    tolerance_mm: float = 0.01,
    max_rms_mm: float = 0.5,
    min_inlier_fraction: float = 0.8,
    restart_deg: float = 10.0,
    restart_mm: float = 10.0,
    restart_rounds: int = 3,
) -> IcpResult:
    """Register traced `moving_points` (N, 3) onto `surface`: returns `moving_to_fixed`.

    `initial_moving_to_fixed` is the starting estimate (from paired points or landmarks). ICP
    converges to the nearest local minimum; when the run from the initial estimate fails a gate
    (RMS residual, inlier fraction, convergence), it is restarted from 24 fixed perturbations of it (1 and 2 times
    +-`restart_deg` about, and +-`restart_mm` along, the traced points' principal axes); the converged result
    with the lowest RMS residual is kept, and, while none passes the gates, the next round
    perturbs that one (at most `restart_rounds` rounds: a deterministic basin-hopping search).
    The start should be within about a centimetre
    and ten degrees for a vertebra-sized surface.
    """
    points = as_points(moving_points, "traced points")
    if len(points) < MIN_POINTS:
        raise UnreliableResultError(
            f"surface registration needs at least {MIN_POINTS} traced points, got {len(points)}"
        )
    initial = (
        np.eye(4)
        if initial_moving_to_fixed is None
        else check_rigid(initial_moving_to_fixed, "initial_moving_to_fixed")
    )
    if max_distance_mm <= 0 or max_rms_mm <= 0:
        raise InvalidInputError("max_distance_mm and max_rms_mm must be positive")
    options = (max_iterations, coarse_iterations, max_distance_mm, tolerance_mm)

    def acceptable(candidate) -> bool:
        result, converged = candidate
        return converged and result.rms_mm <= max_rms_mm and result.inlier_fraction >= min_inlier_fraction

    def better(candidate, incumbent) -> bool:
        return acceptable(candidate) and (not acceptable(incumbent) or candidate[0].rms_mm < incumbent[0].rms_mm)

    best = _icp_once(points, surface, initial, *options)
    centroid = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - centroid)
    for _ in range(restart_rounds if restart_deg > 0 or restart_mm > 0 else 0):
        if acceptable(best):
            break
        around = best[0].moving_to_fixed if best[1] else initial
        incumbent = best
        for axis, sign, size in itertools.product(axes, (1.0, -1.0), (1.0, 2.0)):
            if True:
                rotation = from_axis_angle(sign * size * np.radians(restart_deg) * axis)
                about = from_axis_angle(np.zeros(3), centroid) @ rotation @ from_axis_angle(np.zeros(3), -centroid)
                shift = from_axis_angle(np.zeros(3), sign * size * restart_mm * axis)
                for perturbation in (about, shift):
                    candidate = _icp_once(points, surface, around @ perturbation, *options)
                    if better(candidate, best) or (
                        not acceptable(best) and candidate[1] and candidate[0].rms_mm < best[0].rms_mm
                    ):
                        best = candidate
        if best is incumbent:
            break
    result, converged = best
    _gate(result, converged, max_iterations, max_rms_mm, min_inlier_fraction)
    return result


def _icp_once(points, surface, initial, max_iterations, coarse_iterations, max_distance_mm, tolerance_mm):
    transform = initial.copy()
    centroid = points.mean(axis=0)
    scale = float(np.sqrt(np.mean(np.sum((points - centroid) ** 2, axis=1)))) or 1.0
    local = points - centroid  # rotate about the centroid: better conditioned
    to_local = from_axis_angle(np.zeros(3), centroid)  # local_to_moving
    transform = transform @ to_local  # local_to_fixed
    cutoff = max_distance_mm
    inliers = np.ones(len(points), dtype=bool)
    rms = np.inf
    ratio = 0.0
    iteration = 0
    converged = False
    motions: list[float] = []
    # Coarse phase: point-to-point (Besl & McKay 1992) with trimming, which has a wider basin of
    # convergence than point-to-plane far from the solution.
    for _ in range(coarse_iterations):
        mapped = apply_transform(transform, local)
        distances, q, _ = surface.closest(mapped)
        keep = distances <= np.quantile(distances, 0.8)
        if keep.sum() < MIN_POINTS:
            break
        step = rigid_fit(mapped[keep], q[keep])
        transform = step @ transform
        if np.linalg.norm(step[:3, 3]) + scale * np.linalg.norm(to_axis_angle(step)[0]) < 0.05:
            break
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        mapped = apply_transform(transform, local)
        distances, q, n = surface.closest(mapped)
        residual = np.sum((mapped - q) * n, axis=1)
        inliers = distances < cutoff
        if inliers.sum() < MIN_POINTS:
            raise UnreliableResultError(
                f"surface registration lost contact: {int(inliers.sum())} traced points within {cutoff:.1f} mm "
                "of the bone; "
                "start closer (paired-point landmarks first) or trace on exposed bone"
            )
        sigma = 1.4826 * float(np.median(np.abs(residual[inliers]))) + 1e-6
        u = residual / (4.685 * sigma)
        weights = np.where(inliers & (np.abs(u) < 1.0), (1.0 - u**2) ** 2, 0.0)
        if np.count_nonzero(weights) < MIN_POINTS:
            weights = inliers.astype(float)
        # Rotation about the centroid of the *mapped* points keeps the linearisation well scaled.
        pivot = (weights @ mapped) / weights.sum()
        h, g = _system(mapped - pivot, q - pivot, n, weights, scale)
        eigenvalues = np.linalg.eigvalsh(h)
        ratio = float(eigenvalues[0] / max(eigenvalues[-1], 1e-300))
        x = np.linalg.lstsq(h, g, rcond=None)[0]
        step = from_axis_angle(x[:3] / scale)
        step[:3, 3] = x[3:] + pivot - step[:3, :3] @ pivot
        transform = step @ transform
        rms = float(np.sqrt(np.average(residual**2, weights=np.maximum(weights, 1e-12))))
        cutoff = max(min(cutoff, 3.0 * rms + 1.0), 2.0)
        motion = np.linalg.norm(x[3:]) + np.linalg.norm(x[:3])  # mm at the traced extent
        motions.append(motion)
        # Converged: the update is negligible, or it only cycles between neighbouring surface
        # samples (10 iterations all moving less than 5 tolerances).
        if motion < tolerance_mm or (len(motions) >= 10 and max(motions[-10:]) < 5 * tolerance_mm):
            converged = True
            break
    moving_to_fixed = transform @ np.linalg.inv(to_local)
    mapped = apply_transform(moving_to_fixed, points)
    distances, q, n = surface.closest(mapped)
    residual = np.sum((mapped - q) * n, axis=1)
    inliers = distances < cutoff
    rms = float(np.sqrt(np.mean(residual[inliers] ** 2))) if inliers.any() else np.inf
    fraction = float(inliers.mean())
    return IcpResult(moving_to_fixed, rms, fraction, iteration, ratio), converged


def _gate(
    result: IcpResult, converged: bool, max_iterations: int, max_rms_mm: float, min_inlier_fraction: float
) -> None:
    ratio, fraction, rms = result.constraint_ratio, result.inlier_fraction, result.rms_mm
    if ratio < MIN_CONSTRAINT_RATIO:
        raise UnreliableResultError(
            "surface registration refused: the traced surface leaves a motion unconstrained "
            f"(constraint ratio {ratio:.1e}); "
            "trace more varied bone (spinous process, both laminae, facets) rather than one flat or round patch"
        )
    if not converged:
        raise UnreliableResultError(
            f"surface registration did not converge in {max_iterations} iterations; start closer"
        )
    if fraction < min_inlier_fraction:
        raise UnreliableResultError(
            f"surface registration refused: only {fraction:.0%} of traced points lie on the bone surface "
            f"(need {min_inlier_fraction:.0%}); re-trace on exposed bone"
        )
    if rms > max_rms_mm:
        raise UnreliableResultError(
            f"surface registration refused: RMS distance to the bone {rms:.2f} mm exceeds {max_rms_mm:g} mm; "
            "re-trace or start from a better initial registration"
        )

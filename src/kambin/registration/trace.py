"""Simulated pointer tracing of exposed bone, for testing and benchmarking surface registration.

In open or tubular exposure the surgeon strokes the tracked pointer over the dorsal bone that is
visible: spinous processes, laminae, facet capsules. `exposed_surface` keeps, of an oriented
surface, the samples seen from the surgeon's viewing direction (a z-buffer on a grid of
`cell_mm` cells across the view) whose normals face the viewer; `pointer_strokes` draws straight
strokes across that exposed surface, sampled every `spacing_mm`, as a pointer swept over bone
gives (the tracker's noise is added separately, `kambin.tracking.simulated.NoiseModel`).
"""

from __future__ import annotations

import numpy as np

from kambin.errors import InvalidInputError
from kambin.registration.surface import SurfaceModel


def _view_basis(view_direction: np.ndarray) -> np.ndarray:
    """Rows: two in-plane axes and the direction towards the viewer."""
    d = np.asarray(view_direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(helper, d)
    u /= np.linalg.norm(u)
    return np.array([u, np.cross(d, u), d])


def exposed_surface(
    surface: SurfaceModel,
    towards_viewer: np.ndarray,
    cell_mm: float = 1.0,
    min_facing: float = 0.3,
    within: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the surface samples visible from `towards_viewer` (e.g. posterior), and the view basis.

    `within` optionally restricts the result to a boolean mask over the samples (e.g. two or
    three vertebrae); occlusion is still computed against the whole surface.
    """
    basis = _view_basis(towards_viewer)
    local = surface.points @ basis.T
    cells = np.floor(local[:, :2] / cell_mm).astype(np.int64)
    order = np.lexsort((-local[:, 2], cells[:, 1], cells[:, 0]))
    sorted_cells = cells[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = np.any(sorted_cells[1:] != sorted_cells[:-1], axis=1)
    visible = order[first]  # the sample nearest the viewer in each cell
    facing = surface.normals[visible] @ basis[2] > min_facing
    visible = visible[facing]
    if within is not None:
        visible = visible[np.asarray(within, dtype=bool)[visible]]
    if len(visible) < 10:
        raise InvalidInputError(f"only {len(visible)} exposed surface samples; widen the region or view")
    return visible, basis


def pointer_strokes(
    surface: SurfaceModel,
    exposed: np.ndarray,
    basis: np.ndarray,
    rng: np.random.Generator,
    n_strokes: int = 12,
    stroke_mm: float = 20.0,
    spacing_mm: float = 1.0,
    snap_mm: float = 1.5,
) -> np.ndarray:
    """Points (M, 3) along `n_strokes` straight strokes over the exposed samples.

    Each stroke starts at a random exposed sample and runs in a random direction across the view;
    each of its samples takes the exposed surface point under it (within `snap_mm`), and the
    stroke stops where it leaves the exposed bone.
    """
    from scipy.spatial import cKDTree

    plane = surface.points[exposed] @ basis[:2].T
    tree = cKDTree(plane)
    points = []
    for _ in range(n_strokes):
        start = plane[rng.integers(len(plane))]
        angle = rng.uniform(0, np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        offsets = np.arange(-stroke_mm / 2, stroke_mm / 2 + 1e-9, spacing_mm)
        distance, index = tree.query(start + offsets[:, None] * direction, k=1)
        on_bone = distance < snap_mm
        if on_bone.sum() >= 3:
            points.append(surface.points[exposed[index[on_bone]]])
    if not points:
        raise InvalidInputError("no stroke landed on the exposed surface")
    return np.unique(np.vstack(points), axis=0)


def perturbed_start(
    moving_to_fixed: np.ndarray, about_moving: np.ndarray, rng: np.random.Generator, shift_mm: float, angle_deg: float
) -> np.ndarray:
    """`moving_to_fixed` wrong by a rotation of `angle_deg` about a random axis through
    `about_moving` and a shift of `shift_mm` in a random direction (an initial-estimate error)."""
    from kambin.geometry.transforms import from_axis_angle

    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    rotation = from_axis_angle(np.radians(angle_deg) * axis)
    about = (
        from_axis_angle(np.zeros(3), about_moving) @ rotation @ from_axis_angle(np.zeros(3), -np.asarray(about_moving))
    )
    return moving_to_fixed @ from_axis_angle(np.zeros(3), shift_mm * direction) @ about


def icp_trials(
    surface: SurfaceModel,
    exposed: np.ndarray,
    basis: np.ndarray,
    targets_fixed: np.ndarray,
    n_trials: int,
    seed: int = 0,
    noise_rms_mm: float = 0.25,
    shift_mm: float = 10.0,
    angle_deg: float = 10.0,
    n_strokes: int = 16,
) -> dict:
    """Seeded ICP experiment: trace, add tracker noise, start off by shift and angle, register.

    Returns per-trial TRE at each target (inf where registration was refused), the refusal
    reasons, and the time per registration (s).
    """
    import time

    from kambin.errors import UnreliableResultError
    from kambin.geometry.transforms import apply_transform, from_axis_angle, invert
    from kambin.registration.icp import icp_point_to_plane
    from kambin.tracking.simulated import NoiseModel

    rng = np.random.default_rng(seed)
    noise = NoiseModel(position_rms_mm=noise_rms_mm)
    targets_fixed = np.atleast_2d(targets_fixed)
    tre = np.full((n_trials, len(targets_fixed)), np.inf)
    refusals, seconds, n_points = [], [], []
    for trial in range(n_trials):
        # Where the patient's reference lies relative to the CT: a random pose per trial.
        truth = from_axis_angle(rng.normal(0, 1.0, 3), rng.normal(0, 200, 3))  # reference_to_ct
        traced_ct = pointer_strokes(surface, exposed, basis, rng, n_strokes=n_strokes)
        traced = noise.perturb_points(apply_transform(invert(truth), traced_ct), rng)
        start = perturbed_start(truth, traced.mean(axis=0), rng, shift_mm, angle_deg)
        n_points.append(len(traced))
        began = time.perf_counter()
        try:
            result = icp_point_to_plane(traced, surface, start)
        except UnreliableResultError as error:
            refusals.append(str(error))
            seconds.append(time.perf_counter() - began)
            continue
        seconds.append(time.perf_counter() - began)
        estimated = apply_transform(result.moving_to_fixed, apply_transform(invert(truth), targets_fixed))
        tre[trial] = np.linalg.norm(estimated - targets_fixed, axis=1)
    return {"tre_mm": tre, "refusals": refusals, "seconds": np.array(seconds), "n_points": np.array(n_points)}

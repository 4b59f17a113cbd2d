"""The search for a safe approach at one target: branch-and-bound over the cannula's directions
(`planning.search`), first without touching the superior articular process, then reaming it
deeper step by step (foraminoplasty); the skin entry of a direction, the bone a path removes, and,
when nothing is safe, which structures rule the directions out."""

from __future__ import annotations

import numpy as np

from kambin.geometry.primitives import points_in_cylinder
from kambin.planning.models import PlanRequest
from kambin.planning.scene import PlanningScene
from kambin.planning.search import Candidate, Obstacle, PathEvaluator, SearchSpace, search

INTERLAMINAR_AXIAL_DEG = (60.0, 90.0)
SAP_REAM_STEPS_MM = (0.0, 2.0, 4.0, 6.0, 8.0)  # how deep the cannula may cut into the SAP, tried in turn
ALTERNATIVES = 2
ALTERNATIVE_SEPARATION_DEG = 3.0  # alternatives at least this far apart in direction


def search_approach(scene: PlanningScene, target: np.ndarray, request: PlanRequest, approach: str):
    """Search without touching the SAP first; when that finds no safe path, again allowing the
    cannula to ream progressively deeper into the SAP (as with the graded reamers of foraminoplasty,
    Schubert & Hoogland 2005), stopping at the first depth that gives a safe path within the volume
    limit: bone removal is a last resort and kept as small as the search can make it.

    The deepest reaming is tried right after no reaming: every path safe at a shallower depth is
    safe at the deepest too (only the SAP's limit relaxes, and the volume removed depends on the
    path alone), so when the deepest finds nothing no depth can, and the others are skipped; when
    it finds one, the shallowest depth that does is found by bisection over the steps."""
    first = _search_at_depth(scene, target, request, approach, 0.0)
    first.ream_mm = 0.0
    if first.best is not None or "sap" not in scene.fields or request.max_foraminoplasty_mm3 <= 0:
        return first
    evaluations = first.evaluations
    deepest_mm = SAP_REAM_STEPS_MM[-1]
    deepest = _search_at_depth(scene, target, request, approach, deepest_mm)
    evaluations += deepest.evaluations
    result, ream_mm = deepest, deepest_mm
    if deepest.best is not None:
        # The shallowest depth that works, by bisection over the steps between (monotone, as above).
        low, high = 0, len(SAP_REAM_STEPS_MM) - 1  # fails at `low`, works at `high`
        while high - low > 1:
            middle = (low + high) // 2
            attempt = _search_at_depth(scene, target, request, approach, SAP_REAM_STEPS_MM[middle])
            evaluations += attempt.evaluations
            if attempt.best is not None:
                high, result, ream_mm = middle, attempt, SAP_REAM_STEPS_MM[middle]
            else:
                low = middle
    result.evaluations = evaluations
    result.ream_mm = ream_mm  # with no safe path: the deepest reaming's closest path is reported
    return result


def _search_at_depth(scene: PlanningScene, target: np.ndarray, request: PlanRequest, approach: str, ream_mm: float):
    limits = scene.limits(approach)
    limits["sap"] = -ream_mm
    obstacles = [Obstacle(field, limits[name]) for name, field in scene.fields.items()]
    radius = request.cannula_diameter_mm / 2
    evaluator = PathEvaluator(target, obstacles, radius, request.max_depth_mm, stack=scene.stack)
    if approach == "transforaminal":
        axial = tuple(np.radians(request.axial_angle_range_deg))
    else:
        axial = tuple(np.radians(INTERLAMINAR_AXIAL_DEG))
    space = SearchSpace(
        request.side, axial, tuple(np.radians(request.sagittal_angle_range_deg)), np.radians(request.resolution_deg)
    )

    def feasible(candidate: Candidate) -> bool:
        entry, depth, _ = skin_entry(scene, target, candidate.outward_lps, request.max_depth_mm)
        return (
            depth <= request.max_depth_mm
            and abs(float(entry[0]) - scene.level.midline_x_mm) <= request.max_entry_offset_mm
            and foraminoplasty_mm3(scene, target, entry, radius) <= request.max_foraminoplasty_mm3
        )

    return search(
        evaluator,
        space,
        feasible,
        alternatives=ALTERNATIVES,
        alternative_separation=np.radians(ALTERNATIVE_SEPARATION_DEG),
    )


def skin_entry(
    scene: PlanningScene, target: np.ndarray, outward: np.ndarray, max_depth: float
) -> tuple[np.ndarray, float, bool]:
    """Skin entry along the path (entry, depth, estimated?). Without the skin in view, the point where
    the path leaves the CT's field of view stands in, and is marked estimated."""
    depths = np.arange(0.0, max_depth * 1.5, 1.0)
    points = target + depths[:, None] * outward
    out_of_view = ~scene.fov.contains_lps(points)
    # The body field is resampled with air outside the CT, so near the edge of the field of view it reads
    # "outside the body" where the CT merely ends: the skin counts only where the CT goes on 4 mm beyond.
    deep_in_view = scene.fov.contains_lps(points + 4.0 * outward) & ~out_of_view
    outside_body = (
        (scene.body_field.sample(points) > 0) & deep_in_view
        if scene.body_field is not None
        else np.zeros(len(points), bool)
    )
    leaves = np.flatnonzero(outside_body | out_of_view)
    if len(leaves) == 0:
        return points[-1], float(depths[-1]), True
    n = int(leaves[0])
    return points[n], float(depths[n]), bool(out_of_view[n] and not outside_body[n])


def foraminoplasty_mm3(scene: PlanningScene, target: np.ndarray, entry: np.ndarray, radius: float) -> float:
    if len(scene.sap_points_lps_mm) == 0 or np.allclose(entry, target):
        return 0.0
    inside = points_in_cylinder(scene.sap_points_lps_mm, target, entry, radius)
    return float(inside.sum() * scene.sap_voxel_mm3)


def blockers(scene: PlanningScene, target: np.ndarray, request: PlanRequest, approach: str) -> list[str]:
    """Why no path is safe, in numbers: over a 2-degree grid of the searched directions, the share
    each structure rules out (a direction is ruled out by every structure whose limit it breaks)."""
    limits = scene.limits(approach)
    limits["sap"] = -SAP_REAM_STEPS_MM[-1]
    radius = request.cannula_diameter_mm / 2
    obstacles = [Obstacle(field, limits[name]) for name, field in scene.fields.items()]
    evaluator = PathEvaluator(target, obstacles, radius, request.max_depth_mm, dock_mm=0.0, stack=scene.stack)
    axial_deg = request.axial_angle_range_deg if approach == "transforaminal" else INTERLAMINAR_AXIAL_DEG
    axial = np.radians(np.arange(axial_deg[0] + 1.0, axial_deg[1], 2.0))
    sagittal = np.radians(
        np.arange(request.sagittal_angle_range_deg[0] + 1.0, request.sagittal_angle_range_deg[1], 2.0)
    )
    counts = dict.fromkeys(scene.fields, 0)
    # One pass per axial row: the rows share the sampling cost, and memory stays small.
    rows = ([(float(a), float(s)) for s in sagittal] for a in axial)
    candidates = [c for row in rows for c in evaluator.evaluate_many(row, request.side)]
    total = len(candidates)
    for candidate in candidates:
        for name, clearance in candidate.clearances_mm.items():
            if clearance < limits[name]:
                counts[name] += 1
    ranked = sorted(((n, c) for n, c in counts.items() if c), key=lambda item: -item[1])
    return [f"{name.replace('_', ' ')} {100 * count / total:.0f}%" for name, count in ranked[:4]]

"""`plan`: from a CT, a label map and a `PlanRequest` to a `Plan` with its reasons.

Approach choice (`approach="auto"`): both approaches are searched when the level and the target
allow them; transforaminal is preferred for foraminal and extraforaminal targets and above L5-S1,
interlaminar at L5-S1 for central and paracentral targets (Choi et al., Neurosurgery 2006;
Ruetten et al., Spine 2008), and whichever is safe wins when only one is. Every choice and every
refusal is written into `Plan.reasons` in plain words.
"""

from __future__ import annotations

import numpy as np

from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume
from kambin.planning.approach_search import (
    ALTERNATIVE_SEPARATION_DEG,
    ALTERNATIVES,
    blockers,
    foraminoplasty_mm3,
    search_approach,
    skin_entry,
)
from kambin.planning.fields import ClearanceField
from kambin.planning.models import Clearance, Plan, PlanRequest, Trajectory
from kambin.planning.scene import RISKS, PlanningScene, build_scene, label_ids, level_geometry
from kambin.planning.search import Candidate, Obstacle, PathEvaluator

DOCKING_MARGIN_MM = 0.5  # beyond the limits, for the docking point
# What the cannula's end must clear where it docks: the neural structures, and bone (the endplates
# above and below the disc; the SAP is not counted, it can be reamed).
DOCKING_STRUCTURES = ("exiting_root", "traversing_root", "dural_sac", "bone")
CENTRAL_ZONE_MM = 12.0  # target within this of the midline: central or paracentral


def plan(
    ct: Volume,
    labels: Volume,
    request: PlanRequest,
    names: dict[str, str] | None = None,
    uncertainty: Volume | None = None,
) -> Plan:
    """Plan the safest path at `request.level` on `request.side` (see the module docstring).

    `uncertainty` (mm per voxel, on the CT's grid): how far each estimated structure of the label map
    (nerve roots and dural sac where the CT does not show them, `anatomy.estimate_planning_labels`)
    may reach beyond its label. The hard limits are kept to the estimates widened by it (their
    envelopes), so a plan that keeps them keeps the truth, within that error.
    """
    if not labels.same_grid(ct):
        raise InvalidInputError("the label map is not on the CT's grid; resample it onto the CT first")
    ids = label_ids(labels, names)
    geometry = level_geometry(labels, ids, request.level)
    target, target_source = _target(request, labels, ids, geometry)
    if not ct.contains_lps(target)[0]:
        raise InvalidInputError(
            f"target {np.round(target, 1).tolist()} is outside the CT; give a point inside the body"
        )
    if not _inside_body(ct, target):
        raise InvalidInputError(
            f"target {np.round(target, 1).tolist()} is outside the body (air); give a point in the spine"
        )
    scene = build_scene(
        ct,
        labels,
        request.level,
        request.side,
        target,
        request.max_depth_mm,
        names,
        ids=ids,
        geometry=geometry,
        uncertainty=uncertainty,
    )
    zone_mm = abs(target[0] - geometry.midline_x_mm)
    notes = []
    if scene.uncertainty_mm:
        estimated = ", ".join(f"{g.replace('_', ' ')} {v:.1f} mm" for g, v in sorted(scene.uncertainty_mm.items()))
        notes.append(
            f"estimated where the CT does not show them (largest uncertainty): {estimated}; the limits are kept "
            "to each estimate widened by its local uncertainty"
        )
    results, targets = _search_approaches(scene, target, target_source, request, notes)
    census = {a: blockers(scene, targets[a], request, a) for a, r in results.items() if r.best is None}
    chosen, reasons = _choose(request, results, zone_mm, census)
    final_target = targets[chosen] if chosen is not None else target
    planned = _as_plan(request, scene, final_target, target_source, chosen, results, notes + reasons)
    if chosen is None and scene.uncertainty_mm:
        planned = _with_nominal_path(planned, scene, target, target_source, request, zone_mm)
    if chosen is None:
        planned = _with_closest_path(planned, scene, targets, results, request)
    return planned


def _with_closest_path(planned: Plan, scene: PlanningScene, targets: dict, results: dict, request: PlanRequest) -> Plan:
    """With no safe path: the searched path that misses the limits by the least, over the approaches
    searched, as a `Trajectory` measured like a plan's (negative margin, the broken limits readable in
    its clearances). Reported as `closest`, never as feasible."""
    searched = [(a, r) for a, r in results.items() if r.closest is not None]
    if not searched:
        return planned
    approach, result = max(searched, key=lambda item: item[1].closest.objective_mm)
    closest = _trajectory(scene, targets[approach], result.closest, request, approach, result.ream_mm)
    return planned.model_copy(update={"closest": closest, "closest_approach": approach})


def _search_approaches(scene: PlanningScene, target: np.ndarray, target_source: str, request: PlanRequest, notes):
    """Docking point and search per approach (both when `auto`); notes on docking are appended."""
    approaches = [request.approach] if request.approach != "auto" else ["transforaminal", "interlaminar"]
    results, targets = {}, {}
    for approach in approaches:
        docking, note = _docking_target(scene, target, target_source, request, approach)
        if note:
            notes.append(note)
        targets[approach] = docking
        results[approach] = search_approach(scene, docking, request, approach)
    return results, targets


def _with_nominal_path(planned: Plan, scene: PlanningScene, target, target_source, request, zone_mm) -> Plan:
    """With no path safe once the estimates' uncertainty is added: the best path if the estimated
    structures were exactly where estimated. Reported as `nominal`, never as feasible: it is what a
    scan that shows the roots and the dural sac (MRI registered to the CT) would have to confirm."""
    nominal_scene = scene.nominal()
    results, targets = _search_approaches(nominal_scene, target, target_source, request, [])
    if not any(r.best is not None for r in results.values()):
        return planned
    chosen, _ = _choose(request, results, zone_mm, {a: [] for a in results})
    result = results[chosen]
    nominal = _trajectory(nominal_scene, targets[chosen], result.best, request, chosen, result.ream_mm)
    # Its limits are the nominal ones; its clearances still carry the estimates' uncertainty along this
    # path (clearance to the estimate less clearance to its envelope), to read beside them.
    envelope = _clearances_along(
        {name: scene.fields[name] for name in scene.nominal_fields}, targets[chosen], result.best, request
    )
    clearances = {
        name: c.model_copy(update={"uncertainty_mm": round(max(c.clearance_mm - envelope[name], 0.0), 2)})
        if name in envelope
        else c
        for name, c in nominal.clearances_mm.items()
    }
    nominal = nominal.model_copy(update={"clearances_mm": clearances})
    reason = (
        f"not safe with the estimates' uncertainty, but a {chosen} path keeps the nominal limits if the roots and "
        f"the dural sac are exactly where estimated (margin {nominal.margin_mm:.1f} mm; see `nominal`): confirm "
        "them on an MRI registered to this CT before relying on it"
    )
    return planned.model_copy(
        update={"nominal": nominal, "nominal_approach": chosen, "reasons": [*planned.reasons, reason]}
    )


def _docking_target(scene: PlanningScene, target: np.ndarray, source: str, request: PlanRequest, approach: str):
    """Where the cannula tip can sit: the target itself when every neural limit holds there, else the
    nearest disc or herniation point that keeps them (a herniation pressing on the root is reached
    from its free side). Given targets are kept as they are."""
    if source == "given" or len(scene.docking_points_lps_mm) == 0:
        return target, None
    if source.startswith("posterolateral annulus"):
        return _safest_annulus_point(scene, target, request, approach)
    limits = scene.limits(approach)
    radius = request.cannula_diameter_mm / 2
    points = scene.docking_points_lps_mm
    ok = np.ones(len(points), dtype=bool)
    for name in DOCKING_STRUCTURES:
        if name in scene.fields:
            ok &= scene.fields[name].sample(points) - radius >= limits[name] + DOCKING_MARGIN_MM
    sign = 1.0 if request.side == "left" else -1.0
    ok &= sign * (points[:, 0] - scene.level.midline_x_mm) > 0  # the planned side
    if not ok.any():
        return target, f"no disc point on the {request.side} keeps the {approach} limits to the roots and the dural sac"
    distances = np.linalg.norm(points[ok] - target, axis=1)
    docking = points[ok][int(np.argmin(distances))]
    if distances.min() < 0.5:
        return target, None
    return docking, (
        f"{approach}: the {source} is {float(distances.min()):.1f} mm from the nearest point where the "
        f"{request.cannula_diameter_mm:g} mm cannula tip keeps the limits to the roots, the dural sac and bone; "
        "the tip docks there"
    )


def _safest_annulus_point(scene: PlanningScene, target: np.ndarray, request: PlanRequest, approach: str):
    """With no herniation to aim at: the point of the disc's posterior face on the planned side that
    is farthest from the roots and the dural sac, relative to their limits: the centre of Kambin's
    triangle as the anatomy in the label map has it."""
    limits = scene.limits(approach)
    radius = request.cannula_diameter_mm / 2
    geometry = scene.level
    points = scene.docking_points_lps_mm
    sign = 1.0 if request.side == "left" else -1.0
    relative = points - geometry.disc_centre_lps_mm
    # The posterior face of the disc (within 4 mm of its posterior margin), not its lateral wall.
    keep = (sign * relative[:, 0] > 0) & (relative @ geometry.posterior_lps > geometry.posterior_margin_mm - 4.0)
    if not keep.any():
        return target, None
    points = points[keep]
    margin = np.full(len(points), np.inf)
    for name in DOCKING_STRUCTURES:
        if name in scene.fields:
            margin = np.minimum(margin, scene.fields[name].sample(points) - radius - limits[name])
    best = points[int(np.argmax(margin))]
    return best, (
        f"{approach}: no herniation labelled; the tip docks on the posterolateral annulus where it is "
        f"farthest from the roots, the dural sac and bone ({float(margin.max()):.1f} mm beyond their limits)"
    )


def _target(request: PlanRequest, labels: Volume, ids, geometry) -> tuple[np.ndarray, str]:
    if request.target_lps_mm is not None:
        return np.asarray(request.target_lps_mm, dtype=np.float64), "given"
    sign = 1.0 if request.side == "left" else -1.0
    if "disc_herniation" in ids:
        points = labels.ijk_to_lps(np.argwhere(labels.voxels == ids["disc_herniation"]).astype(float))
        near = points[np.linalg.norm(points - geometry.disc_centre_lps_mm, axis=1) < 40.0]
        on_side = near[sign * (near[:, 0] - geometry.midline_x_mm) > -3.0]
        if len(on_side):
            return on_side.mean(axis=0), "herniation centroid"
    # No herniation: the posterolateral annulus in Kambin's triangle, on the disc's posterior surface.
    lateral = np.cross(geometry.disc_normal_lps, geometry.posterior_lps)
    lateral *= np.sign(lateral[0]) * sign
    point = (
        geometry.disc_centre_lps_mm
        + geometry.posterior_lps * geometry.posterior_margin_mm
        + lateral * 0.45 * geometry.half_width_mm
    )
    return point, "posterolateral annulus (no herniation labelled)"


def _inside_body(ct: Volume, point: np.ndarray) -> bool:
    ijk = np.round(ct.lps_to_ijk(point)).astype(int)
    lo = np.maximum(ijk - 1, 0)
    hi = np.minimum(ijk + 2, np.asarray(ct.shape_ijk))
    return bool(np.median(ct.voxels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]) > -300)


def _choose(request: PlanRequest, results: dict, zone_mm: float, census: dict) -> tuple[str | None, list[str]]:
    safe = {a: r for a, r in results.items() if r.best is not None}
    reasons = []
    for approach, result in results.items():
        if result.best is None:
            closest = result.closest
            line = f"no safe {approach} path: of the directions searched, these rule out: {', '.join(census[approach])}"
            if closest is not None and closest.bottleneck in (
                "exiting_root",
                "traversing_root",
                "dural_sac",
                "bone",
                "sap",
            ):
                fits = request.cannula_diameter_mm + 2 * closest.objective_mm
                line += (
                    f"; the least unsafe path misses the {closest.bottleneck.replace('_', ' ')} limit by "
                    f"{-closest.objective_mm:.1f} mm"
                    + (f" (a cannula of {fits:.1f} mm would keep it)" if fits >= 2.0 else "")
                )
            reasons.append(line)
    if not safe:
        reasons.append("no safe path: consider open or tubular microdiscectomy, or a different target")
        return None, reasons
    if len(safe) == 1:
        chosen = next(iter(safe))
        if request.approach == "auto":
            reasons.append(f"{chosen} chosen: the only approach with a safe path")
        return chosen, reasons
    central = zone_mm < CENTRAL_ZONE_MM
    if request.level.endswith("S1") and central:
        reasons.append(
            f"interlaminar chosen: at L5-S1 the target is {zone_mm:.0f} mm from the midline (central or "
            "paracentral), reached through the wide L5-S1 interlaminar window"
        )
        return "interlaminar", reasons
    reasons.append(
        f"transforaminal chosen: the target is {zone_mm:.0f} mm from the midline and a safe path through "
        "Kambin's triangle exists"
    )
    return "transforaminal", reasons


def _trajectory(
    scene: PlanningScene, target: np.ndarray, candidate: Candidate, request: PlanRequest, approach: str, ream_mm: float
) -> Trajectory:
    entry, depth, _ = skin_entry(scene, target, candidate.outward_lps, request.max_depth_mm)
    limits = scene.limits(approach)
    limits["sap"] = -ream_mm
    # An estimated structure: the clearance to the estimate itself, and how much of it its local
    # uncertainty takes (clearance to the estimate less that to its envelope), added to its limit.
    nominal = _clearances_along(scene.nominal_fields, target, candidate, request)
    uncertainty = {name: max(nominal[name] - candidate.clearances_mm[name], 0.0) for name in nominal}
    return Trajectory(
        entry_lps_mm=tuple(float(v) for v in entry),
        target_lps_mm=tuple(float(v) for v in target),
        depth_mm=round(depth, 1),
        axial_angle_deg=round(float(np.degrees(candidate.axial_angle)), 2),
        sagittal_angle_deg=round(float(np.degrees(candidate.sagittal_angle)), 2),
        entry_offset_from_midline_mm=round(abs(float(entry[0]) - scene.level.midline_x_mm), 1),
        margin_mm=round(candidate.objective_mm, 2),
        bottleneck=candidate.bottleneck,
        clearances_mm={
            name: Clearance(
                clearance_mm=round(nominal.get(name, value), 2),
                limit_mm=round(limits[name] + uncertainty.get(name, 0.0), 2),
                uncertainty_mm=round(uncertainty.get(name, 0.0), 2),
                risk=RISKS[name],
            )
            for name, value in candidate.clearances_mm.items()
        },
        foraminoplasty_mm3=round(foraminoplasty_mm3(scene, target, entry, request.cannula_diameter_mm / 2), 1),
    )


def _clearances_along(
    fields: dict[str, ClearanceField], target: np.ndarray, candidate: Candidate, request: PlanRequest
) -> dict[str, float]:
    """Clearance (mm) of the cannula surface to each field along the candidate's path, measured as
    the search measures it."""
    if not fields:
        return {}
    evaluator = PathEvaluator(
        target, [Obstacle(field, 0.0) for field in fields.values()], request.cannula_diameter_mm / 2,
        request.max_depth_mm,
    )
    return evaluator.evaluate(candidate.axial_angle, candidate.sagittal_angle, request.side).clearances_mm


def _as_plan(request, scene, target, target_source, chosen, results, reasons) -> Plan:
    search_facts = {
        approach: {
            "resolution_deg": request.resolution_deg,
            "guarantee_mm": round(result.guarantee_mm, 2),
            "evaluations": result.evaluations,
            "unresolved_cells": result.unresolved_cells,
        }
        for approach, result in results.items()
    }
    common = dict(
        level=request.level,
        side=request.side,
        target_lps_mm=tuple(float(v) for v in target),
        target_source=target_source,
        cannula_diameter_mm=request.cannula_diameter_mm,
        search=search_facts,
    )
    if chosen is None:
        return Plan(
            approach=None,
            feasible=False,
            reasons=reasons,
            entry_lps_mm=None,
            depth_mm=None,
            entry_offset_from_midline_mm=None,
            axial_angle_deg=None,
            sagittal_angle_deg=None,
            clearances_mm={},
            foraminoplasty_mm3=None,
            alternatives=[],
            entry_estimated=False,
            **common,
        )
    result = results[chosen]
    best = _trajectory(scene, target, result.best, request, chosen, result.ream_mm)
    alternatives = [_trajectory(scene, target, c, request, chosen, result.ream_mm) for c in result.alternatives]
    _, _, entry_estimated = skin_entry(scene, target, result.best.outward_lps, request.max_depth_mm)
    if entry_estimated:
        reasons.append(
            "the skin is not in view along the path: the entry point is where the path leaves the CT's field of "
            "view, so the true skin entry lies further out on the same line and the depth is a lower bound"
        )
    if len(alternatives) < ALTERNATIVES:
        reasons.append(
            f"only {len(alternatives)} other safe path(s) at least {ALTERNATIVE_SEPARATION_DEG:g} degrees from the "
            "chosen one: the safe corridor is narrow"
        )
    if best.foraminoplasty_mm3 > 0:
        reasons.append(f"foraminoplasty: {best.foraminoplasty_mm3:.0f} mm3 of the superior articular process to remove")
    return Plan(
        approach=chosen,
        feasible=True,
        reasons=reasons,
        entry_lps_mm=best.entry_lps_mm,
        depth_mm=best.depth_mm,
        entry_offset_from_midline_mm=best.entry_offset_from_midline_mm,
        axial_angle_deg=best.axial_angle_deg,
        sagittal_angle_deg=best.sagittal_angle_deg,
        clearances_mm=best.clearances_mm,
        foraminoplasty_mm3=best.foraminoplasty_mm3,
        alternatives=alternatives,
        entry_estimated=entry_estimated,
        **common,
    )

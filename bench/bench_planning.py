"""Planning time per level on a synthetic patient, and the search against an exhaustive grid.

Baselines in the same run: the issue's target (2 s per level after anatomy), and an exhaustive
evaluation of every direction at the search's resolution, which is what the branch-and-bound
avoids (its best margin is also reported, to show the search lost nothing).
"""

from __future__ import annotations

import time

import numpy as np

from kambin.phantom import make_patient
from kambin.planning import planner
from kambin.planning.approach_search import SAP_REAM_STEPS_MM
from kambin.planning.models import PlanRequest
from kambin.planning.scene import LIMITS_MM, build_scene
from kambin.planning.search import Obstacle, PathEvaluator, SearchSpace, search


def run(report) -> None:
    patient = make_patient(3, pathology="foraminal-herniation", level="L4-L5", side="left")
    for level in ("L3-L4", "L4-L5", "L5-S1"):
        request = PlanRequest(level=level, side="left")
        start = time.perf_counter()
        result = planner.plan(patient.ct, patient.labels, request)
        seconds = time.perf_counter() - start
        report(
            name=f"plan_time_{level}",
            value=round(seconds, 2),
            unit="s",
            baseline="target",
            baseline_value=2.0,
            feasible=result.feasible,
            approach=result.approach,
            evaluations={a: s["evaluations"] for a, s in result.search.items()},
        )
    # The same from the CT alone: segmented, estimated, with the estimates' uncertainty map (the
    # envelope fields cost a distance transform more per estimated structure). Anatomy not timed here.
    from kambin.workflows.plan_ct import planning_anatomy

    anatomy = planning_anatomy(patient.ct)
    for level in ("L3-L4", "L4-L5", "L5-S1"):
        request = PlanRequest(level=level, side="left")
        start = time.perf_counter()
        result = planner.plan(patient.ct, anatomy.labels, request, anatomy.names, anatomy.uncertainty)
        seconds = time.perf_counter() - start
        report(
            name=f"plan_time_from_ct_{level}",
            value=round(seconds, 2),
            unit="s",
            baseline="target",
            baseline_value=2.0,
            feasible=result.feasible,
            nominal=result.nominal is not None,
        )
    # Search alone, L4-L5 transforaminal, 1 degree: branch-and-bound against every direction.
    request = PlanRequest(level="L4-L5", side="left", resolution_deg=1.0)
    target = np.array(planner.plan(patient.ct, patient.labels, request).target_lps_mm)
    scene = build_scene(patient.ct, patient.labels, "L4-L5", "left", target, request.max_depth_mm)
    limits = dict(LIMITS_MM["transforaminal"])
    limits["sap"] = -SAP_REAM_STEPS_MM[-1]
    evaluator = PathEvaluator(target, [Obstacle(f, limits[n]) for n, f in scene.fields.items()], 3.5, 180.0)
    space = SearchSpace("left", (0.0, np.radians(60)), (np.radians(-35), np.radians(45)), np.radians(1.0))
    start = time.perf_counter()
    found = search(evaluator, space, alternatives=0)
    search_s = time.perf_counter() - start
    start = time.perf_counter()
    axial = np.radians(np.arange(0.5, 60, 1.0))
    sagittal = np.radians(np.arange(-34.5, 45, 1.0))
    best = max(evaluator.evaluate(a, s, "left").objective_mm for a in axial for s in sagittal)
    grid_s = time.perf_counter() - start
    report(
        name="search_time_1deg",
        value=round(search_s, 3),
        unit="s",
        baseline="exhaustive 1-degree grid",
        baseline_value=round(grid_s, 3),
        evaluations=found.evaluations,
        grid_evaluations=len(axial) * len(sagittal),
        best_margin_mm=round(found.best.objective_mm, 3) if found.best else None,
        grid_best_margin_mm=round(best, 3),
        guarantee_mm=round(found.guarantee_mm, 3),
    )

"""Checking a plan against ground truth: the phantom's true nerve roots and dural sac, and a bone
label map made independently of the plan (the phantom's truth labels or a real CT's expert masks).

The planner sees only estimates (the roots and the dural sac inferred from the segmented bone);
these checks measure what the surgeon would actually meet along the planned cannula.
"""

from __future__ import annotations

import numpy as np

from kambin.geometry import point_to_segment_distance
from kambin.geometry.primitives import points_in_cylinder
from kambin.imaging.volume import Volume
from kambin.planning.models import Plan

#: Bone at the cannula's surface within this depth is not counted as crossed: half a voxel of the
#: truth mask's own rasterisation (a 1 mm grid puts a surface anywhere within +-0.5 mm).
SURFACE_TOLERANCE_MM = 0.5


def true_clearance_mm(truth, plan: Plan, structure: str, path=None) -> float:
    """Smallest distance (mm) from the planned cannula's surface to a true tube of the phantom.

    `truth` is a `phantom.truth.PatientTruth`; `structure` is "exiting_root", "traversing_root" or
    "dural_sac". The tubes are the truth's centrelines with their per-point radii. `path` (a
    `Trajectory`, e.g. `plan.nominal`) is measured instead of the plan's own path when given.
    """
    path = plan if path is None else path
    entry, target = np.asarray(path.entry_lps_mm, dtype=float), np.asarray(path.target_lps_mm, dtype=float)
    side = getattr(truth.levels[plan.level], plan.side)
    tubes = {
        "exiting_root": (side.exiting_root_centerline_lps_mm, side.exiting_root_radii_mm),
        "traversing_root": (side.traversing_root_centerline_lps_mm, side.traversing_root_radii_mm),
        "dural_sac": (truth.dural_sac.centerline_lps_mm, truth.dural_sac.radius_mm),
    }
    centreline, radii = (np.asarray(v, dtype=float) for v in tubes[structure])
    return float((point_to_segment_distance(centreline, target, entry) - radii).min() - plan.cannula_diameter_mm / 2)


def bone_crossed_mm3(plan: Plan, bone: Volume) -> float:
    """Volume (mm3) of a bone mask inside the planned cannula (entry to target), less a
    `SURFACE_TOLERANCE_MM` skin at the cannula's surface.

    Compare with `plan.foraminoplasty_mm3`: bone crossed beyond the reported foraminoplasty is bone
    the plan did not know it would meet.
    """
    entry, target = np.asarray(plan.entry_lps_mm, dtype=float), np.asarray(plan.target_lps_mm, dtype=float)
    radius = plan.cannula_diameter_mm / 2 - SURFACE_TOLERANCE_MM
    low = np.minimum(entry, target) - radius - 1
    high = np.maximum(entry, target) + radius + 1
    ijk = bone.lps_to_ijk(
        np.array([[x, y, z] for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])])
    )
    start = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, np.asarray(bone.shape_ijk))
    stop = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 1, 0, np.asarray(bone.shape_ijk))
    box = np.asarray(bone.voxels[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]]).astype(bool)
    voxels = np.argwhere(box) + start
    if len(voxels) == 0:
        return 0.0
    inside = points_in_cylinder(bone.ijk_to_lps(voxels.astype(float)), target, entry, radius)
    return float(inside.sum() * np.prod(bone.spacing_mm))

"""The case a navigation session guides along: the planning CT, its label map, the plan and the
clearance fields guidance samples; built from files (a real setup: `kambin plan`'s PLAN.json and the
CT and label map it names) or by the simulated operating room (`kambin.navigation.simulation`).

Also here, because the live and the simulated monitor share them: the plan and alarm files'
readers, the guidance model and the overlay of a case, and the meshes the scope can see.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.navigation.guidance import AlarmConfig, GuidanceModel
from kambin.navigation.overlay import Overlay, structure_points
from kambin.planning.fields import ClearanceField

# Clearance fields reach this far from the target along the approach (as the planner's scene).
APPROACH_EXTENT_MM = 180.0
ENDOSCOPE_BOX_MM = 70.0  # meshes are cut to this half-size around the target: the scope sees ~50 mm


@dataclass
class NavigationCase:
    """The planning CT and label map (LPS mm, same grid), the plan, and the clearance fields
    (`kambin.planning.scene.build_scene`) of its level and side."""

    ct: object
    labels: object
    plan: object
    fields: dict[str, ClearanceField]

    @property
    def entry(self) -> np.ndarray:
        return np.asarray(self.plan.entry_lps_mm, dtype=np.float64)

    @property
    def target(self) -> np.ndarray:
        return np.asarray(self.plan.target_lps_mm, dtype=np.float64)


def _validation_detail(error: ValidationError) -> str:
    lines = str(error).splitlines()
    return lines[1].strip() if len(lines) > 1 else lines[0]


def load_plan(path: str | os.PathLike):
    """A plan to navigate (`planning.plan_file.read_plan`): one-line errors for a missing or bad
    file, and for a plan with no path to navigate."""
    from kambin.planning.plan_file import read_plan

    plan = read_plan(path)
    if not plan.feasible or plan.entry_lps_mm is None:
        raise InvalidInputError(f"{path}: the plan is not feasible (no entry point); navigate a feasible plan")
    return plan


def load_alarms(path: str | os.PathLike) -> AlarmConfig:
    """Alarm thresholds from a JSON file of `AlarmConfig`'s fields (warn_mm, stop_mm per structure,
    max_registration_error_mm); one-line errors for a missing or invalid file."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such alarm file")
    try:
        return AlarmConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError) as error:
        lines = str(error).splitlines()
        detail = " ".join(line.strip() for line in lines[1:3]) if len(lines) > 1 else lines[0]
        raise InvalidInputError(f"{path}: not a valid alarm configuration ({detail})") from None


def plan_inputs(plan, ct_path: str | os.PathLike | None, labels_path: str | os.PathLike | None) -> tuple[Path, Path]:
    """The CT and label map to navigate on: those given, else those the plan names (`Plan.inputs`),
    checked to exist."""
    chosen = []
    for given, key, option in ((ct_path, "ct", "--ct"), (labels_path, "labels", "--labels")):
        path = Path(given) if given is not None else (Path(plan.inputs[key]) if key in plan.inputs else None)
        if path is None:
            raise InvalidInputError(f"the plan does not name its {key} (inputs.{key}); pass {option}")
        if not path.exists():
            source = "given" if given is not None else f"named by the plan's inputs.{key}"
            raise UnreadableFileError(f"{option} {path}: no such file ({source}); pass {option} with its path")
        chosen.append(path)
    return chosen[0], chosen[1]


def case_from_files(plan, ct_path: str | os.PathLike, labels_path: str | os.PathLike) -> NavigationCase:
    """A real case: the plan (a `Plan`), the CT and label map it was made on, and the clearance
    fields of its level and side (the label map's sidecar names its labels, if it has one)."""
    from kambin.anatomy.label_io import read_label_names
    from kambin.imaging import read_volume
    from kambin.planning.scene import build_scene

    ct = read_volume(ct_path)
    labels = read_volume(labels_path)
    if not labels.same_grid(ct):
        raise InvalidInputError(f"{labels_path}: the label map is not on the CT's grid ({ct_path})")
    scene = build_scene(ct, labels, plan.level, plan.side, np.asarray(plan.target_lps_mm, dtype=np.float64),
                        APPROACH_EXTENT_MM, names=read_label_names(labels_path))
    return NavigationCase(ct, labels, plan, scene.fields)


def guidance_model(case: NavigationCase, alarms: AlarmConfig | None = None) -> GuidanceModel:
    return GuidanceModel(case.entry, case.target, case.fields, alarms)


def overlay_for(case: NavigationCase, intrinsics, camera_to_scope: np.ndarray) -> Overlay:
    """The overlay of the case's plan and its nerve roots and dural sac for one camera."""
    structures = {name: structure_points(case.fields[name]) for name in ("exiting_root", "traversing_root",
                                                                          "dural_sac") if name in case.fields}
    return Overlay(intrinsics, camera_to_scope, case.entry, case.target, structures)


def endoscope_meshes_near_target(case: NavigationCase, target_reduction: float = 0.8) -> list:
    """Meshes of the labelled structures within `ENDOSCOPE_BOX_MM` of the target (what the scope can
    see), from `kambin.render.meshes_from_labels` on a cropped label map."""
    from kambin.imaging.volume import Volume
    from kambin.render.meshes import meshes_from_labels
    from kambin.render.views import ENDOSCOPE_EXCLUDED_IDS

    labels = case.labels
    ijk = labels.lps_to_ijk(np.array([case.target - ENDOSCOPE_BOX_MM, case.target + ENDOSCOPE_BOX_MM]))
    low = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, np.asarray(labels.shape_ijk) - 1)
    high = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 1, 1, np.asarray(labels.shape_ijk))
    voxels = np.asarray(labels.voxels)[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    shift = np.eye(4)
    shift[:3, 3] = low
    cropped = Volume(np.ascontiguousarray(voxels), labels.voxel_to_lps @ shift, modality="SEG")
    return meshes_from_labels(cropped, exclude=ENDOSCOPE_EXCLUDED_IDS, target_reduction=target_reduction)


def navigation_pipeline(case: NavigationCase, intrinsics, camera_to_scope: np.ndarray, registration,
                        alarms: AlarmConfig | None = None, scope: str = "scope", reference: str = "reference",
                        record: bool = True):
    """The navigation pipeline of a case seen through one camera (`compose_navigation`): what the
    live monitor, the simulated one and replay all run."""
    from kambin.navigation.pipeline import compose_navigation

    return compose_navigation(guidance_model(case, alarms), overlay_for(case, intrinsics, camera_to_scope),
                              registration, record=record, scope=scope, reference=reference)

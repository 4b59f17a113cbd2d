"""Plan exports: a 3D Slicer markups file with the path as a line (PLAN.json itself is `plan_file`).

The markups file follows Slicer's markups JSON schema (v1.0.3: `markups[].type = "Line"`, control
points in LPS millimetres), so it opens in 3D Slicer over the same CT. Files are written to a
temporary name and renamed, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError
from kambin.planning.models import Plan

SLICER_MARKUPS_SCHEMA = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/"
    "markups-schema-v1.0.3.json#"
)


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write JSON atomically (temporary file in the same directory, then rename)."""
    return write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def slicer_markups(plan: Plan) -> dict:
    """The planned path as a Slicer markups line from entry to target (LPS mm)."""
    if not plan.feasible or plan.entry_lps_mm is None:
        raise InvalidInputError("the plan has no safe path, so there is no line to export")
    return {
        "@schema": SLICER_MARKUPS_SCHEMA,
        "markups": [
            {
                "type": "Line",
                "coordinateSystem": "LPS",
                "coordinateUnits": "mm",
                "locked": True,
                "labelFormat": "%N",
                "controlPoints": [
                    {"id": "1", "label": "entry", "position": list(plan.entry_lps_mm), "positionStatus": "defined"},
                    {"id": "2", "label": "target", "position": list(plan.target_lps_mm), "positionStatus": "defined"},
                ],
                "measurements": [{"name": "length", "enabled": True, "units": "mm", "value": plan.depth_mm}],
                "display": {"color": [1.0, 0.85, 0.0], "selectedColor": [1.0, 0.5, 0.0], "lineThickness": 0.5},
                "description": f"kambin {plan.approach} plan {plan.level} {plan.side}. {plan.disclaimer}",
            }
        ],
    }

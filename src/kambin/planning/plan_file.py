"""The plan file (PLAN.json): the one place that reads and writes it.

A plan is the `Plan` model as JSON, written atomically; its `format` names the file's version.
`read_plan` validates a whole plan; `read_planned_path` takes only the path from any JSON with an
entry and a target in LPS mm (what the renderers need; other keys are ignored, so a hand-written
path file works too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.planning.models import Plan


def write_plan(plan: Plan, path: str | os.PathLike) -> Path:
    """Write the plan as JSON, atomically (temporary file in the same directory, then rename)."""
    return write_text_atomic(path, json.dumps(plan.model_dump(mode="json"), indent=2) + "\n")


def _json(path: Path) -> object:
    if not path.is_file():
        raise UnreadableFileError(f"{path}: no such plan file; write one with `kambin plan` or `kambin demo`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableFileError(f"{path}: not a plan file (not readable JSON: {error})") from None


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "top level"
    return f"{where}: {first['msg']}"


def read_plan(path: str | os.PathLike) -> Plan:
    """A plan written by `kambin plan` or `kambin demo`, validated; one-line errors for a missing,
    unreadable or invalid file."""
    path = Path(path)
    data = _json(path)
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        raise UnreadableFileError(f"{path}: not a valid kambin plan ({_first_error(error)})") from None


class PlannedPath(BaseModel):
    """The path of a plan: entry and target (LPS mm) and the cannula's diameter if given."""

    model_config = ConfigDict(extra="ignore")

    entry_lps_mm: tuple[float, float, float]
    target_lps_mm: tuple[float, float, float]
    cannula_diameter_mm: float | None = None


def read_planned_path(path: str | os.PathLike) -> PlannedPath:
    """The entry and target of a plan file (or of any JSON object with `entry_lps_mm` and
    `target_lps_mm`, 3 numbers each)."""
    path = Path(path)
    data = _json(path)
    try:
        return PlannedPath.model_validate(data)
    except ValidationError as error:
        raise InvalidInputError(
            f"plan file {path}: {_first_error(error)} (needs entry_lps_mm and target_lps_mm, 3 numbers each)"
        ) from None

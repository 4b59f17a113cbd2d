"""`PlanRequest` and `Plan`: what the surgeon asks for and what the planner answers (PLAN.json).

Pydantic models, validated on construction; `Plan.model_json_schema()` documents the file.
Lengths in mm, angles a person reads in degrees (`_deg`), positions in CT LPS mm.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kambin.anatomy.labels import MOTION_SEGMENTS

DISCLAIMER = "Research and training use only; not a medical device. Not for clinical decisions."
LEVELS = tuple(f"{upper}-{lower}" for upper, lower in MOTION_SEGMENTS)

Point = tuple[float, float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanRequest(_Model):
    """What to plan. Defaults follow common transforaminal practice (Hoogland 2006; Ahn 2003)."""

    level: str = Field(description="motion segment, e.g. L4-L5")
    side: Literal["left", "right"]
    target_lps_mm: Point | None = Field(None, description="explicit target; default from the pathology or the foramen")
    approach: Literal["auto", "transforaminal", "interlaminar"] = "auto"
    cannula_diameter_mm: float = Field(7.0, gt=0, description="working cannula outer diameter")
    max_depth_mm: float = Field(180.0, gt=0, description="longest usable cannula path, skin to target")
    max_entry_offset_mm: float = Field(
        140.0,
        gt=0,
        description="farthest skin entry from the midline: beyond about 14 cm the path risks the peritoneum and "
        "colon (Ahn, Neurosurg Focus 2003; Hoogland et al., Spine 2006: 12-14 cm at L4-L5)",
    )
    axial_angle_range_deg: tuple[float, float] = Field((0.0, 60.0), description="transforaminal axial angles searched")
    sagittal_angle_range_deg: tuple[float, float] = Field((-35.0, 45.0), description="cranio-caudal tilts searched")
    resolution_deg: float = Field(0.5, gt=0, le=5.0, description="angular resolution the search guarantees")
    max_foraminoplasty_mm3: float = Field(
        600.0, ge=0, description="largest superior-articular-process volume to remove"
    )

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {value!r}")
        return value

    @field_validator("cannula_diameter_mm")
    @classmethod
    def _possible_cannula(cls, value: float) -> float:
        # Working cannulas of full-endoscopic spine systems are about 5 to 10 mm (Ruetten 2008).
        if not 2.0 <= value <= 12.0:
            raise ValueError(f"cannula diameter must be 2 to 12 mm (endoscopic working cannulas), not {value} mm")
        return value


class Clearance(_Model):
    """Smallest distance (mm) from the cannula's surface to a structure, and what it guards against."""

    clearance_mm: float
    limit_mm: float = Field(description="hard limit (with `uncertainty_mm` added, except on a nominal path)")
    uncertainty_mm: float = Field(0.0, description="how far the structure's estimate may be off (0: seen or given)")
    risk: str


class Trajectory(_Model):
    """One path from skin entry to target."""

    entry_lps_mm: Point
    target_lps_mm: Point
    depth_mm: float
    axial_angle_deg: float
    sagittal_angle_deg: float
    entry_offset_from_midline_mm: float
    margin_mm: float = Field(description="smallest clearance minus its limit over the corridor (>= 0 is safe)")
    bottleneck: str
    clearances_mm: dict[str, Clearance]
    foraminoplasty_mm3: float

    def broken_limits(self) -> list[tuple[str, Clearance]]:
        """(structure, clearance) of each hard limit this path breaks, worst first (a safe path: none)."""
        broken = [(name, c) for name, c in self.clearances_mm.items() if c.clearance_mm < c.limit_mm]
        return sorted(broken, key=lambda item: item[1].clearance_mm - item[1].limit_mm)


class Plan(_Model):
    """The planner's answer, with the reasons. `feasible` is false when no path keeps every limit."""

    level: str
    side: Literal["left", "right"]
    approach: Literal["transforaminal", "interlaminar"] | None
    feasible: bool
    reasons: list[str]
    target_lps_mm: Point
    target_source: str
    entry_lps_mm: Point | None
    cannula_diameter_mm: float
    depth_mm: float | None
    entry_offset_from_midline_mm: float | None
    axial_angle_deg: float | None
    sagittal_angle_deg: float | None
    clearances_mm: dict[str, Clearance]
    foraminoplasty_mm3: float | None
    entry_estimated: bool = Field(description="true when the skin is not in view and the entry was extrapolated")
    alternatives: list[Trajectory]
    nominal: Trajectory | None = Field(
        None,
        description="with no feasible path: the best path if the estimated roots and dural sac are exactly where "
        "estimated (their uncertainty not added); not a safe plan, a hypothesis to confirm on MRI",
    )
    nominal_approach: str | None = None
    closest: Trajectory | None = Field(
        None,
        description="with no feasible path: the searched path that comes nearest to keeping every limit (its "
        "margin is negative; its clearances say which limits it breaks); shown so that the surgeon sees what "
        "blocks the approach, never to be followed",
    )
    closest_approach: str | None = None
    search: dict = Field(description="resolution, guarantee and evaluations of the search")
    inputs: dict[str, str] = Field(default_factory=dict, description="paths of the CT and label map planned on")
    format: Literal["kambin-plan-1"] = Field("kambin-plan-1", description="the plan file's version")
    kambin_version: str = Field(default_factory=lambda: version("kambin"))
    disclaimer: str = DISCLAIMER

    def shown_path(self) -> tuple[Trajectory | Plan | None, str | None, str]:
        """The path to picture and describe, its approach, and the words that must label it: the plan's
        own path when feasible; else its nominal path; else its closest path; else none."""
        if self.feasible:
            return self, self.approach, ""
        if self.nominal is not None:
            return self.nominal, self.nominal_approach, "nominal (NOT SAFE) "
        if self.closest is not None:
            return self.closest, self.closest_approach, "closest (NOT SAFE) "
        return None, None, ""

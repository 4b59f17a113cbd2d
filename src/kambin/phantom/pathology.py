"""Pathologies placed at a chosen level and side: disc herniation by zone (central,
paracentral, foraminal, extraforaminal; optional cranial or caudal migration), foraminal
stenosis (facet hypertrophy with reduced disc height), and a high iliac crest at L5-S1.

Zones follow the combined task force nomenclature (Fardon DF et al., "Lumbar disc
nomenclature: version 2.0", Spine J 2014;14:2525-2545). Stenosis follows Hasegawa 1995: the
disc loses height until the posterior disc height is about 4 mm and the foraminal height falls
toward 15 mm, and the superior articular process grows an osteophyte into the foramen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kambin.errors import InvalidInputError
from kambin.phantom import sdf
from kambin.phantom.morphometry import MOTION_LEVELS, Morphometry
from kambin.phantom.shapes import FunctionShape
from kambin.phantom.spine import SIDES, Spine

PATHOLOGIES = (
    "none",
    "central-herniation",
    "paracentral-herniation",
    "foraminal-herniation",
    "extraforaminal-herniation",
    "foraminal-stenosis",
    "high-iliac-crest",
)
MIGRATIONS = ("none", "cranial", "caudal")
DEFAULT_LEVEL = {"high-iliac-crest": "L5-S1"}


class PathologySpec(BaseModel):
    """What to put where; validated, with one-line errors that say what is allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = "none"
    level: str = "L4-L5"
    side: str = "left"
    migration: str = "none"
    severity: float = Field(1.0, ge=0.25, le=2.0)

    @classmethod
    def make(
        cls,
        kind: str = "none",
        level: str | None = None,
        side: str = "left",
        migration: str = "none",
        severity: float = 1.0,
    ) -> PathologySpec:
        if kind not in PATHOLOGIES:
            raise InvalidInputError(f"pathology must be one of {', '.join(PATHOLOGIES)}, not {kind!r}")
        if level is None:
            level = DEFAULT_LEVEL.get(kind, "L4-L5")
        if level not in MOTION_LEVELS:
            raise InvalidInputError(f"level must be one of {', '.join(MOTION_LEVELS)}, not {level!r}")
        if side not in SIDES:
            raise InvalidInputError(f"side must be left or right, not {side!r}")
        if migration not in MIGRATIONS:
            raise InvalidInputError(f"migration must be one of {', '.join(MIGRATIONS)}, not {migration!r}")
        if migration != "none" and not kind.endswith("herniation"):
            raise InvalidInputError(f"migration applies to herniations only, not to {kind!r}")
        if kind == "high-iliac-crest" and level != "L5-S1":
            raise InvalidInputError(f"a high iliac crest is an L5-S1 condition; use --level L5-S1, not {level}")
        if not 0.25 <= severity <= 2.0:
            raise InvalidInputError(f"severity must be between 0.25 and 2.0, not {severity}")
        return cls(kind=kind, level=level, side=side, migration=migration, severity=severity)

    @property
    def zone(self) -> str | None:
        return self.kind.removesuffix("-herniation") if self.kind.endswith("-herniation") else None


def adjust_morphometry(morph: Morphometry, spec: PathologySpec) -> Morphometry:
    """Stenosis: the disc at the level loses 45 % of its height (Hasegawa 1995)."""
    if spec.kind != "foraminal-stenosis":
        return morph
    segments = dict(morph.segments)
    seg = segments[spec.level]
    loss = min(0.45 * spec.severity, 0.7)
    segments[spec.level] = replace(
        seg, disc_height_mm=seg.disc_height_mm * (1.0 - loss), lordosis_rad=seg.lordosis_rad * 0.8
    )
    return replace(morph, segments=segments)


def high_crest_raise_mm(spec: PathologySpec) -> float:
    return 32.0 * spec.severity if spec.kind == "high-iliac-crest" else 0.0


@dataclass
class Lesion:
    """A pathological shape with its label and where it is."""

    label: str
    shape: FunctionShape
    centroid_lps_mm: np.ndarray
    sdf_points: object  # callable (N,3) -> (N,)
    info: dict


def herniation(spine: Spine, spec: PathologySpec) -> Lesion:
    disc = spine.discs[spec.level]
    upper, lower = spine.upper_lower(spec.level)
    s = SIDES[spec.side]
    k = spec.severity
    vp = disc.v_posterior_mm
    ped_u = 0.5 * (upper.pedicle_u + lower.pedicle_u)
    ped_w = 0.5 * (upper.dims.pedicle_width_mm + lower.dims.pedicle_width_mm)
    zone = spec.zone
    centre, radii = {
        "central": ((0.0, vp + 3.2, 0.0), (8.0, 4.2, 5.5)),
        "paracentral": ((s * 8.0, vp + 3.2, 0.0), (6.0, 4.2, 5.5)),
        "foraminal": ((s * (ped_u + 1.0), vp + 1.2, 0.0), (5.0, 3.6, 4.8)),
        "extraforaminal": ((s * (ped_u + ped_w / 2 + 9.0), vp - 4.0, 0.0), (6.0, 5.0, 5.5)),
    }[zone]
    centre = np.array(centre, dtype=float)
    radii = np.array(radii, dtype=float) * np.array([1.0, k, 1.0])
    if spec.migration != "none":
        shift = 7.0 * (1 if spec.migration == "cranial" else -1)
        centre[2] += shift
        radii[2] += 3.0
    neck_from = np.array([centre[0] * 0.9, vp - 3.0, 0.0])
    frame = disc.frame

    def fn(x, y, z):
        u, v, w = frame.to_local(x, y, z)
        frag = sdf.ellipsoid(u - centre[0], v - centre[1], w - centre[2], *radii)
        neck, _ = sdf.segment_distance(u, v, w, neck_from, centre)
        return sdf.smooth_union(frag, (neck - 3.5).astype(np.float32), 2.0)

    world_centre = frame.point(*centre)
    r = float(radii.max()) + 12.0
    shape = FunctionShape("disc_herniation", world_centre - r, world_centre + r, fn)
    info = {"level": spec.level, "side": spec.side, "zone": zone, "migration": spec.migration}
    return Lesion("disc_herniation", shape, world_centre, lambda p: fn(p[:, 0], p[:, 1], p[:, 2]), info)


def facet_osteophyte(spine: Spine, spec: PathologySpec) -> Lesion:
    """Hypertrophic bone growing from the front of the superior articular process's tip into
    the foramen, under the exiting root (Hasegawa 1995's up-down and front-back stenosis)."""
    joint = spine.joints[(spec.level, spec.side)]
    disc = spine.discs[spec.level]
    upper, lower = spine.upper_lower(spec.level)
    s = SIDES[spec.side]
    k = spec.severity
    tip_w = disc.frame.local_points(joint.sap_tip_lps_mm()[None])[0, 2]
    centre = np.array(
        [s * (0.5 * (upper.pedicle_u + lower.pedicle_u) + 2.0), disc.v_posterior_mm + 8.5 - 1.5 * k, tip_w - 3.0]
    )
    radii = np.array([5.5, 3.0 + 1.5 * k, 7.0])
    frame = disc.frame

    def fn(x, y, z):
        u, v, w = frame.to_local(x, y, z)
        return sdf.ellipsoid(u - centre[0], v - centre[1], w - centre[2], *radii)

    world_centre = frame.point(*centre)
    r = float(radii.max()) + 4.0
    shape = FunctionShape("facet_hypertrophy", world_centre - r, world_centre + r, fn)
    info = {"level": spec.level, "side": spec.side}
    return Lesion("facet_hypertrophy", shape, world_centre, lambda p: fn(p[:, 0], p[:, 1], p[:, 2]), info)

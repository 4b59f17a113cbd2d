"""`SpineModel`: everything kambin knows about one patient's lumbar spine, as a pydantic model
(JSON-serialisable, JSON schema for free), built from a CT and its vertebra labels.

Per vertebra the landmarks (`kambin.anatomy.landmarks`); per level the disc, the bony canal and
the skin behind it; per level and side the foramen and Kambin's triangle with its inscribed
circle (`kambin.anatomy.morphometry`, same definitions as the phantom's truth); the iliac crest
tops; and the estimated soft tissue (dural sac, nerve roots) with their uncertainty in mm
(`kambin.anatomy.soft_tissue_estimates`). Positions in patient LPS mm, directions unit LPS.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kambin.anatomy import morphometry as morph
from kambin.anatomy.labelled_vertebrae import ORDER, adjacent_pairs
from kambin.anatomy.labels import disc_name, label_id
from kambin.anatomy.landmarks import SIDES, VertebraLandmarks
from kambin.anatomy.soft_tissue_estimates import PlanningAnatomy, estimate_with_body
from kambin.anatomy.tube import Tube
from kambin.imaging.volume import Volume

Point = list[float]
DISCLAIMER = "Not a medical device: research and training use only."


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _p(x) -> list[float]:
    return [round(float(v), 3) for v in np.asarray(x).ravel()]


class PedicleModel(_Model):
    centre_lps_mm: Point = Field(description="isthmus centre, 4 mm behind the posterior body wall")
    axis_lps: Point = Field(description="unit vector along the pedicle, anterior to posterior")
    width_mm: float = Field(description="level mean (Zindrick 1987) scaled to this body's size")
    height_mm: float


class VertebraModel(_Model):
    name: str
    label_id: int
    body_centre_lps_mm: Point
    axes_lps: list[Point] = Field(description="rows: u (left), v (posterior), w (superior) as LPS unit vectors")
    superior_endplate_centre_lps_mm: Point
    superior_endplate_normal_lps: Point
    inferior_endplate_centre_lps_mm: Point
    inferior_endplate_normal_lps: Point
    body_height_mm: float
    body_width_mm: float
    canal_width_mm: float | None
    canal_depth_mm: float | None
    canal_area_mm2: float | None = Field(description="enclosed bony canal at the pedicles' mid-height")
    canal_centre_lps_mm: Point
    pedicles: dict[str, PedicleModel]
    superior_articular_process_tip_lps_mm: dict[str, Point]
    spinous_process_tip_lps_mm: Point | None
    midsagittal_normal_lps: Point


class DiscModel(_Model):
    level: str
    name: str
    centre_lps_mm: Point
    normal_lps: Point
    height_mm: float = Field(description="mid-disc height between the endplate rim planes")
    posterior_height_mm: float
    posterior_margin_lps_mm: Point


class ForamenModel(_Model):
    centre_lps_mm: Point
    height_mm: float
    width_mm: float
    area_mm2: float


class KambinTriangleModel(_Model):
    vertices_lps_mm: list[Point] = Field(
        description="[right-angle vertex at the traversing root/dura on the lower endplate, lateral vertex on "
        "the exiting root, upper vertex on the exiting root]"
    )
    base_mm: float
    height_mm: float
    hypotenuse_mm: float
    area_mm2: float
    inscribed_diameter_mm: float = Field(description="largest inscribed circle: base + height - hypotenuse")
    estimated: bool = Field(True, description="bounded by estimated roots and sac, not seen in the CT")


class LevelSideModel(_Model):
    foramen: ForamenModel
    kambin_triangle: KambinTriangleModel
    exiting_root: str
    traversing_root: str
    flags: list[str]


class LevelModel(_Model):
    level: str
    disc: DiscModel
    canal_area_mm2: float | None = Field(description="smaller of the two vertebrae's bony canal areas")
    skin_posterior_lps_mm: Point | None = Field(description="skin straight behind the disc centre")
    skin_depth_mm: float | None
    left: LevelSideModel
    right: LevelSideModel
    flags: list[str]


class EstimateModel(_Model):
    name: str
    centerline_lps_mm: list[Point]
    radii_mm: list[float]
    uncertainty_mm: float
    method: str


class SpineModel(_Model):
    schema_version: str = "1"
    disclaimer: str = DISCLAIMER
    frame: str = "LPS"
    units: str = "mm"
    vertebrae: dict[str, VertebraModel]
    levels: dict[str, LevelModel]
    canal_centerline_lps_mm: list[Point]
    iliac_crest_top_lps_mm: dict[str, Point]
    estimates: dict[str, EstimateModel]
    uncertainty_mm: dict[str, float]
    notes: list[str]


def _vertebra_model(lm: VertebraLandmarks, canal: dict) -> VertebraModel:
    def opt(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return VertebraModel(
        name=lm.name,
        label_id=lm.label_id,
        body_centre_lps_mm=_p(lm.body_centre_lps_mm),
        axes_lps=[_p(lm.axes_lps[:, c]) for c in range(3)],
        superior_endplate_centre_lps_mm=_p(lm.superior_endplate_centre_lps_mm),
        superior_endplate_normal_lps=_p(lm.superior_endplate_normal_lps),
        inferior_endplate_centre_lps_mm=_p(lm.inferior_endplate_centre_lps_mm),
        inferior_endplate_normal_lps=_p(lm.inferior_endplate_normal_lps),
        body_height_mm=float(lm.body_height_mm),
        body_width_mm=float(2 * lm.body_half_width_mm),
        canal_width_mm=opt(lm.canal_width_mm),
        canal_depth_mm=opt(lm.canal_depth_mm),
        canal_area_mm2=canal["area_mm2"],
        canal_centre_lps_mm=_p(canal["centre_lps_mm"]),
        pedicles={
            side: PedicleModel(
                centre_lps_mm=_p(lm.pedicle_centre_lps_mm[side]),
                axis_lps=_p(lm.pedicle_axis_lps[side]),
                width_mm=float(lm.pedicle_width_mm[side]),
                height_mm=float(lm.pedicle_height_mm[side]),
            )
            for side in lm.pedicle_centre_lps_mm
        },
        superior_articular_process_tip_lps_mm={
            side: _p(p) for side, p in lm.superior_articular_process_tip_lps_mm.items()
        },
        spinous_process_tip_lps_mm=None if lm.spinous_process_tip_lps_mm is None else _p(lm.spinous_process_tip_lps_mm),
        midsagittal_normal_lps=_p(lm.midsagittal_normal_lps),
    )


def _estimate(tube: Tube, uncertainty: float, method: str) -> EstimateModel:
    return EstimateModel(
        name=tube.name,
        centerline_lps_mm=[_p(p) for p in tube.points_lps_mm],
        radii_mm=[round(float(r), 3) for r in tube.radii_mm],
        uncertainty_mm=uncertainty,
        method=method,
    )


def build_spine_model(ct: Volume, vertebra_labels: Volume, names: dict[str, str] | None = None) -> SpineModel:
    """Measure the spine of one CT from its vertebra labels (see the module docstring).

    Args:
        ct: the CT (HU).
        vertebra_labels: bone labels on the CT's grid (registry ids, or any ids named by `names`).
        names: label id (string) -> registry name; the registry's ids when None.

    Raises:
        InvalidInputError: labels not on the CT's grid, or no vertebra T10-S1 in them.
    """
    model, _ = build_spine_model_and_labels(ct, vertebra_labels, names)
    return model


def build_spine_model_and_labels(
    ct: Volume, vertebra_labels: Volume, names: dict[str, str] | None = None
) -> tuple[SpineModel, PlanningAnatomy]:
    """`build_spine_model` and the planning label map it was measured with."""
    anatomy, body = estimate_with_body(ct, vertebra_labels, names)
    labels = np.asarray(anatomy.labels.voxels)
    grid = anatomy.labels
    vertebrae = anatomy.vertebrae
    by_name = {n: int(i) for i, n in anatomy.names.items()}

    def reg_id(name: str) -> int:
        return by_name.get(f"vertebrae_{name}", by_name.get("sacrum", -1))

    canals = {name: morph.canal_section(grid, labels == reg_id(name), lm) for name, lm in vertebrae.items()}
    vert_models = {name: _vertebra_model(lm, canals[name]) for name, lm in vertebrae.items()}
    soft_ids = [label_id("disc_herniation")] + [label_id(disc_name(*d.split("-"))) for d in anatomy.discs]
    soft = np.isin(labels, soft_ids)
    levels = {}
    for upper_name, lower_name in adjacent_pairs(vertebrae):
        level = f"{upper_name}-{lower_name}"
        if upper_name not in ORDER[3:] or level not in anatomy.discs:
            continue
        upper, lower = vertebrae[upper_name], vertebrae[lower_name]
        disc = anatomy.discs[level]
        pair_ids = [reg_id(upper_name), reg_id(lower_name), label_id("facet_hypertrophy")]
        if lower_name == "S1":
            pair_ids.append(by_name.get("sacrum", -1))
        pair_bone = np.isin(labels, pair_ids)
        sides = {}
        for side in SIDES:
            fo = morph.foramen(grid, pair_bone, soft, upper, lower, disc, side)
            ex = anatomy.roots.get(f"nerve_root_{upper_name}_{side}")
            tr = anatomy.roots.get(f"nerve_root_{lower_name}_{side}")
            tri = morph.kambin_triangle(lower, side, ex, tr, anatomy.dural_sac)
            sides[side] = LevelSideModel(
                foramen=ForamenModel(
                    centre_lps_mm=_p(fo["centre_lps_mm"]),
                    height_mm=fo["height_mm"],
                    width_mm=fo["width_mm"],
                    area_mm2=fo["area_mm2"],
                ),
                kambin_triangle=KambinTriangleModel(
                    vertices_lps_mm=[_p(v) for v in tri["vertices_lps_mm"]],
                    base_mm=tri["base_mm"],
                    height_mm=tri["height_mm"],
                    hypotenuse_mm=tri["hypotenuse_mm"],
                    area_mm2=tri["area_mm2"],
                    inscribed_diameter_mm=tri["inscribed_diameter_mm"],
                ),
                exiting_root=ex.name,
                traversing_root=tr.name,
                flags=morph.flags(fo["height_mm"], None, None),
            )
        areas = [a for a in (canals[upper_name]["area_mm2"], canals[lower_name]["area_mm2"]) if a is not None]
        canal_area = min(areas) if areas else None
        posterior = disc.posterior_margin_lps_mm - disc.centre_lps_mm
        skin = morph.skin_behind(body, ct, disc.centre_lps_mm, posterior)
        levels[level] = LevelModel(
            level=level,
            disc=DiscModel(
                level=level,
                name=disc_name(upper_name, lower_name),
                centre_lps_mm=_p(disc.centre_lps_mm),
                normal_lps=_p(disc.normal_lps),
                height_mm=disc.height_mm,
                posterior_height_mm=disc.posterior_height_mm,
                posterior_margin_lps_mm=_p(disc.posterior_margin_lps_mm),
            ),
            canal_area_mm2=canal_area,
            skin_posterior_lps_mm=None if skin is None else _p(skin),
            skin_depth_mm=None if skin is None else float(np.linalg.norm(skin - disc.centre_lps_mm)),
            left=sides["left"],
            right=sides["right"],
            flags=morph.flags(None, canal_area, disc),
        )
    crest = morph.iliac_crest_tops(
        ct, np.asarray(vertebra_labels.voxels), _input_ids(vertebra_labels, names), vertebrae
    )
    estimates = {"dural_sac": _estimate(anatomy.dural_sac, anatomy.uncertainty_mm.get("dural_sac", 0.0), "canal tube")}
    for name, tube in anatomy.roots.items():
        estimates[name] = _estimate(tube, anatomy.uncertainty_mm.get(name, 0.0), "Cohen 1990 course from the pedicles")
    canal_line = [_p(canals[n]["centre_lps_mm"]) for n in ORDER if n in canals]
    model = SpineModel(
        vertebrae=vert_models,
        levels=levels,
        canal_centerline_lps_mm=canal_line,
        iliac_crest_top_lps_mm={side: _p(p) for side, p in crest.items()},
        estimates=estimates,
        uncertainty_mm=dict(anatomy.uncertainty_mm),
        notes=list(anatomy.notes),
    )
    return model, anatomy


def _input_ids(labels: Volume, names: dict[str, str] | None) -> dict[str, int]:
    from kambin.anatomy.labelled_vertebrae import bone_names

    return bone_names(labels, names)

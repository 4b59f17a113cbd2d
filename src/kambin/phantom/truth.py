"""The ground truth of a synthetic patient, as pydantic models (JSON schema for free).

All positions are LPS millimetres in the CT's world frame; directions are unit LPS vectors;
angles a person reads carry `_deg`. Tubes (roots, dural sac) are centreline + radius, painted
into the label map as exactly the voxels whose centre lies inside the tube, so truth and label
map agree to the voxel.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Point = list[float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PedicleTruth(_Model):
    centre_lps_mm: Point = Field(description="pedicle isthmus centre")
    axis_lps: Point = Field(description="unit vector along the pedicle, anterior to posterior")
    entry_lps_mm: Point
    width_mm: float
    height_mm: float
    transverse_angle_deg: float


class VertebraTruth(_Model):
    name: str
    label_id: int
    body_centre_lps_mm: Point
    superior_endplate_centre_lps_mm: Point = Field(description="centre of the superior endplate rim plane")
    superior_endplate_normal_lps: Point
    inferior_endplate_centre_lps_mm: Point
    inferior_endplate_normal_lps: Point
    endplate_concavity_mm: float
    body_width_mm: float
    body_depth_mm: float
    body_height_mm: float
    canal_width_mm: float
    canal_depth_mm: float
    pedicles: dict[str, PedicleTruth]
    superior_articular_process_tip_lps_mm: dict[str, Point] = Field(
        description="most cranial point of the process, centred on its top 3 mm (measure.process_tips)"
    )
    spinous_process_tip_lps_mm: Point | None = Field(
        None, description="most posterior point of the process, centred on its last 3 mm (measure.process_tips)"
    )


class DiscTruth(_Model):
    label_id: int
    centre_lps_mm: Point
    normal_lps: Point
    height_mm: float = Field(description="mid-disc height along the disc axis")
    anterior_height_mm: float
    posterior_height_mm: float
    posterior_margin_lps_mm: Point = Field(description="mid-sagittal posterior margin at mid-height")
    lordosis_deg: float


class LevelSideTruth(_Model):
    kambin_triangle_lps_mm: list[Point] = Field(
        description=(
            "[right-angle vertex on the lower endplate at the traversing root/dura, lateral vertex on the "
            "exiting root, upper vertex on the exiting root], on the posterior disc surface"
        )
    )
    kambin_triangle_base_mm: float
    kambin_triangle_height_mm: float
    kambin_triangle_inscribed_diameter_mm: float
    exiting_root: str
    exiting_root_centerline_lps_mm: list[Point]
    exiting_root_radius_mm: float = Field(
        description="largest radius along the root (the ganglion): a conservative tube"
    )
    exiting_root_radii_mm: list[float]
    exiting_root_ganglion_lps_mm: Point
    traversing_root: str
    traversing_root_centerline_lps_mm: list[Point]
    traversing_root_radius_mm: float
    traversing_root_radii_mm: list[float]
    foramen_centre_lps_mm: Point
    foramen_height_mm: float
    foramen_width_mm: float = Field(description="antero-posterior width at the disc level")
    foramen_area_mm2: float
    facet_joint_centre_lps_mm: Point
    facet_angle_deg: float


class LevelTruth(_Model):
    left: LevelSideTruth
    right: LevelSideTruth
    disc: DiscTruth


class DuralSacTruth(_Model):
    """The dura as a round tube: the label map's dural_sac, spinal_cord and cauda_equina voxels
    (and the first mm of each root's take-off) together fill exactly this tube."""

    centerline_lps_mm: list[Point]
    radius_mm: list[float]


class HerniationTruth(_Model):
    level: str
    side: str
    zone: str
    migration: str
    centroid_lps_mm: Point
    volume_mm3: float


class PathologyTruth(_Model):
    kind: str
    level: str | None
    side: str | None
    migration: str = "none"
    severity: float = 1.0
    details: dict = Field(default_factory=dict)


class IliacCrestTruth(_Model):
    top_lps_mm: dict[str, Point]
    top_above_l5_s1_disc_mm: float


class PatientTruth(_Model):
    schema_version: str = "1"
    disclaimer: str = "Synthetic patient for research and training; not a medical device."
    frame: str = "LPS"
    units: str = "mm"
    seed: int
    habitus: str
    spacing_mm: Point
    shape_ijk: list[int]
    voxel_to_lps: list[list[float]]
    levels: dict[str, LevelTruth]
    vertebrae: dict[str, VertebraTruth]
    dural_sac: DuralSacTruth
    herniation: HerniationTruth | None
    pathology: PathologyTruth
    iliac_crest: IliacCrestTruth
    tissue_hu: dict[str, float]
    morphometry: dict

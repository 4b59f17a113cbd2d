"""Build the plan report from a `Plan`, its CT and its label map.

The report opens with the level-check picture (`kambin.report.level_check`): the vertebrae's names on
a sagittal and a coronal view of the same CT, to be checked against the count before anything else,
since everything below is planned at a named level.

Every number in the report comes from the plan or is measured here from the same CT and labels
(the entry's height above the iliac crest); the plain-language summary for the patient is filled
from those facts only. Pictures are rendered by `kambin.render` and embedded as PNG data URIs,
so the file stands alone and prints (A4, one section per page where it fits).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import cv2
import jinja2
import numpy as np

from kambin.anatomy.labels import label_id
from kambin.atomic import write_text_atomic
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume
from kambin.planning.models import Plan
from kambin.report.level_check import level_check_image

TEMPLATES = Path(__file__).parent / "templates"
# Structures left out of the 3D views (they hide the spine) and drawn see-through.
HIDDEN_IN_3D = (
    "skin",
    "subcutaneous_fat",
    "visceral_fat",
    "muscle",
    "peritoneal_cavity",
    "small_bowel",
    "colon",
    "liver",
    "spleen",
)
SEE_THROUGH_3D = {
    "iliopsoas_left": 0.35,
    "iliopsoas_right": 0.35,
    "autochthon_left": 0.15,
    "autochthon_right": 0.15,
    "hip_left": 0.45,
    "hip_right": 0.45,
}
INCISION_MARGIN_MM = 1.0  # skin incision: the cannula's diameter plus about a millimetre
#: How the levels were named, when neither the plan nor the label map says (a plan does not record it;
#: a label map fresh from `kambin.anatomy.segmentation` carries it in its metadata, one read from a file does not).
IDENTIFICATION_UNKNOWN = "not recorded in the plan (the names are the label map's, as given to the planner)"


@dataclass(frozen=True)
class Picture:
    title: str
    caption: str
    data_uri: str


def _png(image_rgb: np.ndarray) -> str:
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image_rgb[:, :, ::-1]))
    if not ok:
        raise RuntimeError("PNG encoding failed")  # an OpenCV failure, not a user error
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def iliac_crest_top_z_mm(labels: Volume, side: str) -> float | None:
    """Highest point (LPS z, mm) of the hip bone on that side, or None if it is not labelled."""
    try:
        mask = np.asarray(labels.voxels) == label_id(f"hip_{side}")
    except InvalidInputError:
        return None
    ijk = np.argwhere(mask)
    if len(ijk) == 0:
        return None
    return float(labels.ijk_to_lps(ijk.astype(float))[:, 2].max())


def _facts(plan: Plan, labels: Volume) -> dict:
    facts = {"crest_cm": None, "incision_mm": plan.cannula_diameter_mm + INCISION_MARGIN_MM}
    if plan.feasible:
        crest = iliac_crest_top_z_mm(labels, plan.side)
        if crest is not None:
            facts["crest_cm"] = (plan.entry_lps_mm[2] - crest) / 10.0
    return facts


def _patient_summary(plan: Plan, facts: dict) -> list[str]:
    """Plain words for the patient, from the plan's facts only."""
    upper, lower = plan.level.split("-")
    if not plan.feasible:
        return [
            f"The computer plan found no path for the endoscope to the disc between the {upper} and {lower} "
            "vertebrae that keeps the safety distances it was given.",
            "Your surgeon will discuss other ways to treat the problem.",
        ]
    root = plan.clearances_mm.get("exiting_root")
    sac = plan.clearances_mm.get("dural_sac")
    lines = [
        f"The plan reaches the disc between the {upper} and {lower} vertebrae of your lower back from your "
        f"{plan.side} side, through a cut of about {facts['incision_mm']:.0f} mm in the skin, "
        f"{plan.entry_offset_from_midline_mm / 10:.0f} cm from the middle of your back.",
        f"A thin tube of {plan.cannula_diameter_mm:g} mm goes {plan.depth_mm / 10:.0f} cm deep to the disc.",
    ]
    if root is not None and sac is not None:
        lines.append(
            f"On the planned path the tube stays {root.clearance_mm:.1f} mm from the nerve that leaves the spine "
            f"there and {sac.clearance_mm:.1f} mm from the sac that holds the nerves and spinal fluid."
        )
    if plan.foraminoplasty_mm3:
        lines.append(
            f"A small piece of bone (about {plan.foraminoplasty_mm3 / 1000:.2f} cm3) is planned to be removed to make "
            "room for the tube."
        )
    lines.append("This is a computer plan for research and training; your surgeon decides on the operation.")
    return lines


def _pictures(plan: Plan, ct: Volume, labels: Volume, path) -> list[Picture]:
    """Pictures of `path` (the plan itself, or its `nominal` trajectory): anything with
    `entry_lps_mm`, `target_lps_mm` and `depth_mm`."""
    from kambin.render.meshes import meshes_from_labels
    from kambin.render.overview import overview_image
    from kambin.render.slices import render_slice, trajectory_plane
    from kambin.render.views import endoscope_view, fluoroscopy_view

    entry, target = path.entry_lps_mm, path.target_lps_mm
    pictures = []
    hidden = [label_id(n) for n in HIDDEN_IN_3D if _known(n)]
    shown = labels.with_voxels(np.where(np.isin(labels.voxels, hidden), 0, labels.voxels))
    meshes = meshes_from_labels(shown, target_reduction=0.9)
    sign = 1.0 if plan.side == "left" else -1.0
    for title, direction in (("3D, from behind", (0.3 * sign, 1.0, 0.15)), ("3D, from the side", (sign, 0.15, 0.1))):
        image = overview_image(
            meshes,
            entry,
            target,
            direction,
            cannula_diameter_mm=plan.cannula_diameter_mm,
            distance_mm=260.0,
            opacity=SEE_THROUGH_3D,
        )
        pictures.append(
            Picture(title, "anatomy from the label map; the green tube: the cannula on the path shown", _png(image))
        )
    for across, title in (
        ((0.0, 0.0, 1.0), "slice along the path (axial-oblique)"),
        ((0.0, 1.0, 0.0), "slice along the path (coronal-oblique)"),
    ):
        plane = trajectory_plane(entry, target, across_lps=across)
        image = render_slice(ct, plane, labels=labels, path_lps_mm=(entry, target))
        pictures.append(
            Picture(title, "CT with structures in colour and the path from skin (left) to target", _png(image))
        )
    for view in ("ap", "lateral"):
        image = fluoroscopy_view(ct, view, path=(entry, target), cannula_diameter_mm=plan.cannula_diameter_mm)
        pictures.append(
            Picture(
                f"simulated fluoroscopy, {view.upper()}",
                "what the C-arm should show with the cannula on the path pictured",
                _png(image),
            )
        )
    # The same meshes as the 3D views: what they leave out (skin, fat, bowel) the endoscope never sees here.
    image = endoscope_view(meshes, entry, target, at=max(path.depth_mm - 5.0, 0.0))
    pictures.append(
        Picture(
            "endoscope view 5 mm before the target",
            "30 degree optics; yellow: nerve, blue: dura, white: disc, ivory: bone",
            _png(image),
        )
    )
    return pictures


def _level_check(ct: Volume, labels: Volume) -> Picture:
    """The level-check picture, shown first: the count is checked before anything planned at a level."""
    identification = labels.metadata.get("identification")  # an optional fact, see IDENTIFICATION_UNKNOWN
    if not isinstance(identification, str) or not identification.strip():
        identification = IDENTIFICATION_UNKNOWN
    return Picture(
        "level check",
        "Check the level count against this picture before anything else: count the vertebrae on the CT "
        f"and compare them with the names (how the levels were named: {identification})",
        _png(level_check_image(ct, labels, identification)),
    )


def _known(name: str) -> bool:
    try:
        label_id(name)
    except InvalidInputError:
        return False
    return True


def build_report(plan: Plan, ct: Volume, labels: Volume, *, pictures: bool = True) -> str:
    """The report as one HTML string."""
    if not labels.same_grid(ct):
        raise InvalidInputError("the label map is not on the CT's grid; resample it onto the CT first")
    facts = _facts(plan, labels)
    # An infeasible plan's nominal path (safe only if the estimated roots are exact), or with none its
    # closest path, is pictured under a warning: what an MRI would have to confirm, or what blocks the way.
    shown, _, _ = plan.shown_path()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template("plan_report.html.j2").render(
        plan=plan,
        facts=facts,
        clearances=sorted(plan.clearances_mm.items(), key=lambda item: item[1].clearance_mm - item[1].limit_mm),
        summary=_patient_summary(plan, facts),
        level_check=_level_check(ct, labels) if pictures else None,
        pictures=_pictures(plan, ct, labels, shown) if pictures and shown is not None else [],
        nominal=plan.nominal if not plan.feasible else None,
        closest=plan.closest if not plan.feasible and plan.nominal is None else None,
        closest_broken=plan.closest.broken_limits() if plan.closest is not None else [],
        kambin_version=version("kambin"),
    )


def write_report(plan: Plan, ct: Volume, labels: Volume, path: str | os.PathLike) -> Path:
    """Write the report atomically (temporary name, then rename)."""
    return write_text_atomic(path, build_report(plan, ct, labels))

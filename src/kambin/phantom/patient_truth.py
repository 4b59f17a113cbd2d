"""The synthetic patient's ground truth (`truth.PatientTruth`, written as truth.json) measured on the
analytic anatomy it was drawn from: vertebrae, discs, Kambin's triangles, roots, sac, lesions."""

from __future__ import annotations

import numpy as np

from kambin.anatomy.labels import label_id
from kambin.imaging.volume import Volume
from kambin.phantom import ct as ctmod
from kambin.phantom import measure
from kambin.phantom.morphometry import MOTION_LEVELS, Morphometry
from kambin.phantom.neural import obstacle_sdf
from kambin.phantom.pathology import Lesion, high_crest_raise_mm
from kambin.phantom.shapes import Tube
from kambin.phantom.spine import SIDES, Spine
from kambin.phantom.truth import (
    DiscTruth,
    DuralSacTruth,
    HerniationTruth,
    IliacCrestTruth,
    LevelSideTruth,
    LevelTruth,
    PathologyTruth,
    PatientTruth,
    PedicleTruth,
    VertebraTruth,
)


def _l(p) -> list[float]:
    return [round(float(v), 4) for v in np.asarray(p).ravel()]


def patient_truth(seed, morph, spine: Spine, sac: Tube, roots, ilia, lesions, spec, ct: Volume) -> PatientTruth:
    vertebrae = {}
    for name, vert in spine.vertebrae.items():
        f = vert.frame
        half_w = vert.dims.body_wedge_rad / 2
        pedicles = {}
        sap_tips, spinous_tip = measure.process_tips(vert)
        sap = {side: _l(p) for side, p in sap_tips.items()}
        for side, s in SIDES.items():
            p0, p1 = vert.pedicle_axis(s)
            axis = f.direction(*(p1 - p0))
            centre = f.point(s * vert.pedicle_u, vert.pedicle_v_isthmus, vert.pedicle_w)
            pedicles[side] = PedicleTruth(
                centre_lps_mm=_l(centre),
                axis_lps=_l(axis),
                entry_lps_mm=_l(f.points(p1[None])[0]),
                width_mm=vert.dims.pedicle_width_mm,
                height_mm=vert.dims.pedicle_height_mm,
                transverse_angle_deg=float(np.degrees(vert.dims.pedicle_angle_rad)),
            )
        tip = None if spinous_tip is None else _l(spinous_tip)
        top_n = f.direction(0.0, np.sin(half_w), np.cos(half_w))
        bottom_n = f.direction(0.0, -np.sin(half_w), np.cos(half_w))
        vertebrae[name] = VertebraTruth(
            name=name,
            label_id=label_id(vert.label),
            body_centre_lps_mm=_l(f.origin_lps_mm),
            superior_endplate_centre_lps_mm=_l(f.point(0, 0, vert.h / 2)),
            superior_endplate_normal_lps=_l(top_n),
            inferior_endplate_centre_lps_mm=_l(f.point(0, 0, -vert.h / 2)),
            inferior_endplate_normal_lps=_l(bottom_n),
            endplate_concavity_mm=vert.endplate_concavity_mm,
            body_width_mm=vert.dims.body_width_mm,
            body_depth_mm=vert.dims.body_depth_mm,
            body_height_mm=vert.h,
            canal_width_mm=vert.dims.canal_width_mm,
            canal_depth_mm=vert.dims.canal_depth_mm,
            pedicles=pedicles,
            superior_articular_process_tip_lps_mm=sap,
            spinous_process_tip_lps_mm=tip,
        )
    bone_fns = {}
    levels = {}
    for level in MOTION_LEVELS:  # the lumbar levels (no roots or sac are modelled above L1)
        disc = spine.discs[level]
        upper, lower = spine.upper_lower(level)
        bone = obstacle_sdf(
            spine, [upper.dims.name, lower.dims.name], [], [les for les in lesions if les.label == "facet_hypertrophy"]
        )
        soft = obstacle_sdf(spine, [], [level], [les for les in lesions if les.label == "disc_herniation"])
        bone_fns[level] = bone
        sides = {}
        for side in SIDES:
            ex = roots[(upper.dims.name, side)]
            tr = roots[(lower.dims.name, side)]
            tri = measure.kambin_triangle(spine, level, side, ex, tr, sac)
            fo = measure.foramen(spine, level, side, bone, soft)
            joint = spine.joints[(level, side)]
            g = int(np.argmax(ex.radii_mm))
            sides[side] = LevelSideTruth(
                kambin_triangle_lps_mm=[_l(p) for p in tri["vertices_lps_mm"]],
                kambin_triangle_base_mm=tri["base_mm"],
                kambin_triangle_height_mm=tri["height_mm"],
                kambin_triangle_inscribed_diameter_mm=tri["inscribed_diameter_mm"],
                exiting_root=ex.name,
                exiting_root_centerline_lps_mm=[_l(p) for p in ex.points_lps_mm],
                exiting_root_radius_mm=float(ex.radii_mm.max()),
                exiting_root_radii_mm=[round(float(r), 4) for r in ex.radii_mm],
                exiting_root_ganglion_lps_mm=_l(ex.points_lps_mm[g]),
                traversing_root=tr.name,
                traversing_root_centerline_lps_mm=[_l(p) for p in tr.points_lps_mm],
                traversing_root_radius_mm=float(tr.radii_mm.max()),
                traversing_root_radii_mm=[round(float(r), 4) for r in tr.radii_mm],
                foramen_centre_lps_mm=_l(fo["centre_lps_mm"]),
                foramen_height_mm=fo["height_mm"],
                foramen_width_mm=fo["width_mm"],
                foramen_area_mm2=fo["area_mm2"],
                facet_joint_centre_lps_mm=_l(joint.frame.origin_lps_mm),
                facet_angle_deg=float(np.degrees(morph.segments[level].facet_angle_rad)),
            )
        a, b = disc.semi_axes_mm
        disc_truth = DiscTruth(
            label_id=label_id(f"disc_{upper.dims.name}_{lower.dims.name}"),
            centre_lps_mm=_l(disc.frame.origin_lps_mm),
            normal_lps=_l(disc.frame.axes_lps[:, 2]),
            height_mm=disc.height_at(0.0),
            anterior_height_mm=disc.height_at(-b + 2.0),
            posterior_height_mm=disc.height_at(disc.v_posterior_mm - 1.0),
            posterior_margin_lps_mm=_l(disc.frame.point(0.0, disc.v_posterior_mm, 0.0)),
            lordosis_deg=float(np.degrees(disc.lordosis_rad)),
        )
        levels[level] = LevelTruth(left=sides["left"], right=sides["right"], disc=disc_truth)
    hern = next((les for les in lesions if les.label == "disc_herniation"), None)
    hern_truth = None
    if hern is not None:
        hern_truth = HerniationTruth(centroid_lps_mm=_l(hern.centroid_lps_mm), volume_mm3=_volume(hern), **hern.info)
    details = {}
    if spec.kind == "foraminal-stenosis":
        ost = next(les for les in lesions if les.label == "facet_hypertrophy")
        details = {
            "osteophyte_centroid_lps_mm": _l(ost.centroid_lps_mm),
            "disc_height_loss_fraction": min(0.45 * spec.severity, 0.7),
        }
    if spec.kind == "high-iliac-crest":
        details = {"crest_raised_mm": high_crest_raise_mm(spec)}
    disc_ls = spine.discs["L5-S1"].frame.origin_lps_mm
    crest = {side: _l(il.crest_top_lps_mm()) for side, il in ilia.items()}
    return PatientTruth(
        seed=int(seed),
        habitus=morph.habitus,
        spacing_mm=_l(ct.spacing_mm),
        shape_ijk=list(ct.shape_ijk),
        voxel_to_lps=[[float(v) for v in row] for row in ct.voxel_to_lps],
        levels=levels,
        vertebrae=vertebrae,
        dural_sac=DuralSacTruth(
            centerline_lps_mm=[_l(p) for p in sac.points_lps_mm], radius_mm=[round(float(r), 4) for r in sac.radii_mm]
        ),
        herniation=hern_truth,
        pathology=PathologyTruth(
            kind=spec.kind,
            level=None if spec.kind == "none" else spec.level,
            side=None if spec.kind in ("none",) else spec.side,
            migration=spec.migration,
            severity=spec.severity,
            details=details,
        ),
        iliac_crest=IliacCrestTruth(
            top_lps_mm=crest, top_above_l5_s1_disc_mm=float(max(c[2] for c in crest.values()) - disc_ls[2])
        ),
        tissue_hu={**ctmod.HU_TABLE, "cancellous_bone": morph.cancellous_hu, "noise_sd": morph.noise_sd_hu},
        morphometry=_morph_dict(morph),
    )


def _volume(lesion: Lesion) -> float:
    lo, hi = lesion.shape.bbox_lps()
    step = 0.5
    axes = [np.arange(lo[a], hi[a], step) for a in range(3)]
    d = lesion.shape.evaluate(*[a.astype(np.float32) for a in axes])
    return float((d < 0).sum() * step**3)


def _morph_dict(morph: Morphometry) -> dict:
    out = {
        "scale": morph.scale,
        "sacral_slope_deg": float(np.degrees(morph.sacral_slope_rad)),
        "fat_thickness_mm": morph.fat_thickness_mm,
        "root_radius_mm": morph.root_radius_mm,
        "drg_radius_mm": morph.drg_radius_mm,
        "vertebrae": {},
        "segments": {},
    }
    for name, v in morph.vertebrae.items():
        out["vertebrae"][name] = {
            k: (float(np.degrees(val)) if k.endswith("_rad") else val) for k, val in vars(v).items() if k != "name"
        }
        out["vertebrae"][name] = {k.replace("_rad", "_deg"): val for k, val in out["vertebrae"][name].items()}
    for level, s in morph.segments.items():
        out["segments"][level] = {
            "disc_height_mm": s.disc_height_mm,
            "lordosis_deg": float(np.degrees(s.lordosis_rad)),
            "facet_angle_deg": float(np.degrees(s.facet_angle_rad)),
        }
    return out

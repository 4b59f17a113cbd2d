"""Are the estimates' uncertainties right? The true nerve roots and dural sac against the labels
`anatomy.estimate_planning_labels` paints, widened by their per-voxel uncertainty (the envelopes the
planner keeps its limits to), on 8 synthetic patients at 1 mm, from their CT segmented by
`segment_spine` and from their true bone labels.

Figures, per structure class (exiting roots L1-L4 and L5 within 25 mm of their foramen; the sac
from L1 to S1):
- true voxels outside the envelope (baseline 0: the uncertainty holds everywhere it was measured);
- the largest distance of a true voxel outside the label itself (how far off the label is), with
  the same for the estimate alone (no tracing on the CT) as baseline;
- the share of the centreline seen on the CT (the sac is not traced: 0, its label is the estimate
  painted with the roots over it).
These patients are the ones the uncertainty constants were calibrated on
(`soft_tissue_estimates.UNCERTAINTY_MM`, `seen_rule`): this checks the constants still hold after
a change, it is not an independent validation.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

PATIENTS = (
    (3, {"pathology": "foraminal-herniation", "level": "L4-L5", "side": "left"}),
    (0, {}),
    (1, {"pathology": "foraminal-stenosis", "level": "L4-L5", "side": "right"}),
    (2, {"pathology": "paracentral-herniation", "level": "L5-S1", "side": "left"}),
    (4, {"pathology": "central-herniation", "level": "L4-L5"}),
    (5, {"pathology": "high-iliac-crest", "habitus": "obese"}),
    (6, {"habitus": "slim"}),
    (7, {"pathology": "foraminal-herniation", "level": "L3-L4", "side": "right"}),
)
LEVELS = ("L3-L4", "L4-L5", "L5-S1")
NEAR_FORAMEN_MM = 25.0


def _box(*masks: np.ndarray, margin: int = 12) -> tuple[slice, ...]:
    ijk = np.argwhere(np.logical_or.reduce(masks))
    lo = np.maximum(ijk.min(axis=0) - margin, 0)
    hi = np.minimum(ijk.max(axis=0) + margin + 1, masks[0].shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))


def score(true: np.ndarray, label: np.ndarray, estimate: np.ndarray, uncertainty: np.ndarray, spacing) -> dict:
    """Voxels of `true` outside the envelope of `label` (uncertainty per voxel); the largest
    distance (mm) of a true voxel outside `label` and outside `estimate` (the untraced tube)."""
    from kambin.planning.scene import envelope_mask

    box = _box(true, label, estimate)
    true, label, estimate, uncertainty = true[box], label[box], estimate[box], uncertainty[box]
    envelope = envelope_mask(label, np.where(label, uncertainty, 0.0), np.asarray(spacing))
    outside = ndimage.distance_transform_edt(~label, sampling=spacing)[true]
    outside_estimate = ndimage.distance_transform_edt(~estimate, sampling=spacing)[true]
    return {
        "outside_envelope": int((true & ~envelope).sum()),
        "outside_label_mm": float(outside.max(initial=0.0)),
        "outside_estimate_mm": float(outside_estimate.max(initial=0.0)),
    }


def measure(patient, bone_labels) -> dict[str, list[dict]]:
    from kambin.anatomy.labels import label_id
    from kambin.anatomy.neural_estimates import paint_tube
    from kambin.anatomy.soft_tissue_estimates import estimate_planning_labels
    from kambin.anatomy.tube import Tube

    anatomy = estimate_planning_labels(patient.ct, bone_labels)
    labels, truth = np.asarray(anatomy.labels.voxels), np.asarray(patient.labels.voxels)
    uncertainty = np.asarray(anatomy.uncertainty.voxels)
    spacing = patient.ct.spacing_mm
    out: dict[str, list[dict]] = {}

    def untraced(tube) -> np.ndarray:
        mask = np.zeros(labels.shape, np.uint8)
        paint_tube(mask, patient.ct, tube, 1, np.zeros(labels.shape, bool))
        return mask > 0

    for level in LEVELS:
        for side in ("left", "right"):
            ts = getattr(patient.truth.levels[level], side)
            true = truth == label_id(ts.exiting_root)
            points = patient.ct.ijk_to_lps(np.argwhere(true).astype(float))
            far = np.linalg.norm(points - ts.foramen_centre_lps_mm, axis=1) >= NEAR_FORAMEN_MM
            true[tuple(np.argwhere(true)[far].T)] = False
            name = ts.exiting_root
            key = "root_L5" if name.split("_")[2] == "L5" else "root_L1_L4"
            estimate = untraced(anatomy.untraced[name])
            result = score(true, labels == label_id(name), estimate, uncertainty, spacing)
            result["seen"] = anatomy.seen_fraction[name]
            out.setdefault(key, []).append(result)
    sac = patient.truth.dural_sac
    true = np.zeros(labels.shape, np.uint8)
    paint_tube(true, patient.ct, Tube("truth", np.asarray(sac.centerline_lps_mm), np.asarray(sac.radius_mm)), 1,
               np.zeros(labels.shape, bool))
    z = patient.ct.ijk_to_lps(np.argwhere(true).astype(float))[:, 2]
    top = patient.truth.vertebrae["L1"].superior_endplate_centre_lps_mm[2]
    bottom = patient.truth.vertebrae["S1"].superior_endplate_centre_lps_mm[2]
    keep = np.zeros(labels.shape, bool)
    keep[tuple(np.argwhere(true)[(z < top) & (z > bottom)].T)] = True
    estimate = untraced(anatomy.untraced["dural_sac"])
    result = score(keep, labels == label_id("dural_sac"), estimate, uncertainty, spacing)
    result["seen"] = anatomy.seen_fraction["dural_sac"]
    out.setdefault("dural_sac", []).append(result)
    return out


def run(report) -> None:
    from kambin.anatomy.labels import label_by_id
    from kambin.anatomy.segmentation import segment_spine
    from kambin.phantom import make_patient

    for source in ("segment_spine", "truth_bone"):
        totals: dict[str, list[dict]] = {}
        for seed, kwargs in PATIENTS:
            patient = make_patient(seed, **kwargs)
            if source == "segment_spine":
                bone = segment_spine(patient.ct).labels
            else:
                voxels = np.asarray(patient.labels.voxels)
                ids = [i for i in np.unique(voxels) if i and label_by_id(int(i)).category == "bone"]
                bone = patient.labels.with_voxels(np.where(np.isin(voxels, ids), voxels, 0).astype(np.uint8))
            for key, results in measure(patient, bone).items():
                totals.setdefault(key, []).extend(results)
        for key, results in totals.items():
            report(
                name=f"uncertainty_{key}_true_voxels_outside_envelope",
                value=sum(r["outside_envelope"] for r in results),
                unit="voxels",
                baseline="none outside",
                baseline_value=0,
                source=source,
                structures=len(results),
            )
            report(
                name=f"uncertainty_{key}_label_error_max",
                value=round(max(r["outside_label_mm"] for r in results), 2),
                unit="mm",
                baseline="the anatomical estimate alone, not traced on the CT",
                baseline_value=round(max(r["outside_estimate_mm"] for r in results), 2),
                source=source,
            )
            report(
                name=f"uncertainty_{key}_seen_on_ct",
                value=round(float(np.mean([r["seen"] for r in results])), 3),
                unit="share of centreline",
                baseline="the estimate alone",
                baseline_value=0.0,
                source=source,
            )

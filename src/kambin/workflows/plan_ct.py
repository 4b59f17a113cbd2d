"""From a CT (and optionally a label map) to the anatomy the planner works on.

One place decides where each structure comes from:
- no label map: the vertebrae, sacrum and hip bones are segmented from the CT (`kambin segment`'s
  engine), then the discs, nerve roots, dural sac, psoas and peritoneal boundary are estimated
  from the bone (`anatomy.estimate_planning_labels`), each with its uncertainty;
- a label map with nerve roots and a dural sac (a manual segmentation, the phantom's truth): used
  as it is, nothing estimated;
- a bone-only label map (TotalSegmentator, VerSe, 3D Slicer): the soft tissue is estimated from it.
"""

from __future__ import annotations

from kambin.anatomy.labels import label_id
from kambin.imaging.volume import Volume

HERNIATION_ID = label_id("disc_herniation")


def planning_anatomy(
    ct: Volume,
    labels: Volume | None = None,
    names: dict[str, str] | None = None,
    lowest: str | None = None,
    highest: str | None = None,
):
    """The label map to plan on, with its sidecar names, the estimates' uncertainties and notes.

    Returns an `anatomy.PlanningAnatomy`. `lowest`/`highest` are the segmentation's naming hints,
    used only when `labels` is None.
    """
    from kambin.anatomy.labels import sidecar
    from kambin.anatomy.segmentation import segment_spine
    from kambin.anatomy.soft_tissue_estimates import PlanningAnatomy, estimate_planning_labels
    from kambin.planning.scene import label_ids

    notes: list[str] = []
    if labels is None:
        segmentation = segment_spine(ct, lowest=lowest, highest=highest)
        labels, names = segmentation.labels, None
        notes.append(
            f"bone segmented from the CT: {', '.join(segmentation.vertebrae)} "
            f"({segmentation.identification}, confidence {segmentation.confidence:.2f})"
        )
        notes += segmentation.warnings
    ids = label_ids(labels, names)
    if "dural_sac" in ids and any(name.startswith("nerve_root_") for name in ids):
        given = names if names is not None else sidecar(sorted(ids.values()))
        return PlanningAnatomy(labels, given, {}, notes + ["nerve roots and dural sac as given in the label map"])
    estimated = estimate_planning_labels(ct, labels, names)
    with_herniations, herniation_notes = _add_herniations(ct, estimated, ids)
    return PlanningAnatomy(
        with_herniations,
        estimated.names | ({str(HERNIATION_ID): "disc_herniation"} if herniation_notes else {}),
        estimated.uncertainty_mm,
        notes + estimated.notes + herniation_notes,
    )


def _add_herniations(ct: Volume, estimated, bone_ids: dict[str, int]) -> tuple[Volume, list[str]]:
    """The estimated label map with the disc herniations seen on the CT (`anatomy.herniation`)."""
    import numpy as np

    from kambin.anatomy.herniation import find_herniations
    from kambin.anatomy.labels import disc_name, label_by_id

    voxels = np.asarray(estimated.labels.voxels)
    ids = {name: int(i) for i, name in estimated.names.items()}
    bone = np.isin(
        voxels, [i for n, i in bone_ids.items() if label_by_id(i).category == "bone" or n.startswith("vertebrae_")]
    )
    discs = {
        level: (ids[disc_name(d.upper, d.lower)], d.centre_lps_mm, d.posterior_margin_lps_mm, d.normal_lps)
        for level, d in estimated.discs.items()
        if disc_name(d.upper, d.lower) in ids
    }
    found = find_herniations(ct, voxels, bone, discs)
    if not found:
        return estimated.labels, ["no disc herniation seen on the CT"]
    out = voxels.copy()
    for herniation in found:
        index = tuple(herniation.mask_ijk.T)
        out[index] = np.where(out[index] == 0, HERNIATION_ID, out[index])
    notes = [
        f"disc herniation seen on the CT at {h.level} ({h.side}, {h.volume_mm3:.0f} mm3): disc-density tissue "
        "outside the disc space"
        for h in found
    ]
    return estimated.labels.with_voxels(out), notes

"""From a CT (and optionally a label map) to the anatomy the planner works on.

One place decides where each structure comes from:
- no label map: the vertebrae, sacrum and hip bones are segmented from the CT (`kambin segment`'s
  engine), then the discs, herniations seen on the CT, nerve roots, dural sac, psoas and
  peritoneal boundary are estimated from the bone (`anatomy.estimate_planning_labels`), each
  with its uncertainty;
- a label map with nerve roots and a dural sac (a manual segmentation, the phantom's truth): used
  as it is, nothing estimated;
- a bone-only label map (TotalSegmentator, VerSe, 3D Slicer): the soft tissue is estimated from it.
"""

from __future__ import annotations

from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume


def planning_anatomy(
    ct: Volume,
    labels: Volume | None = None,
    names: dict[str, str] | None = None,
    lowest: str | None = None,
    highest: str | None = None,
    level_at=(),
):
    """The label map to plan on, with its sidecar names, the estimates' uncertainties and notes.

    Returns an `anatomy.PlanningAnatomy`. `lowest`/`highest`/`level_at` are the segmentation's naming
    hints (`segment_spine`), used only when `labels` is None. Raises InvalidInputError when the
    segmentation could not name the levels: a level is planned only where it is found by name.
    """
    from dataclasses import replace

    from kambin.anatomy.labels import sidecar
    from kambin.anatomy.segmentation import segment_spine
    from kambin.anatomy.soft_tissue_estimates import PlanningAnatomy, estimate_planning_labels
    from kambin.planning.scene import label_ids

    notes: list[str] = []
    if labels is None:
        segmentation = segment_spine(ct, lowest=lowest, highest=highest, level_at=level_at)
        if not segmentation.named:
            raise InvalidInputError(
                f"no level can be planned by name: the vertebrae were {segmentation.identification}"
            )
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
    return replace(estimated, notes=notes + estimated.notes)

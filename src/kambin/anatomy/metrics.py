"""Agreement between two label maps on the same grid, and of a label map with a truth point."""

from __future__ import annotations

import numpy as np

from kambin.anatomy.labels import label_by_id
from kambin.imaging.volume import Volume


def dice_per_label(predicted: np.ndarray, truth: np.ndarray) -> dict[int, float]:
    """Dice coefficient (Dice 1945: 2|A and B| / (|A| + |B|)) of every non-zero id in `truth`."""
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    scores = {}
    for label in np.unique(truth[truth > 0]):
        a, b = predicted == label, truth == label
        scores[int(label)] = float(2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)))
    return scores


#: Outcomes of `level_naming`; "wrong" is the one that must never happen.
NAMING_OUTCOMES = ("right", "unnamed", "unscored", "wrong")


def level_naming(predicted: np.ndarray, truth: np.ndarray) -> dict[int, str]:
    """How each vertebra label of `predicted` (registry ids) is named, judged against `truth`.

    Per predicted vertebra (`vertebrae_*`, `sacrum`, unnamed `vertebra_*`): "unnamed" for a vertebra
    left unnamed (its level open, with a reason); "right" when the truth's label it overlaps most is
    its own; "wrong" when that is another level (named X where the truth's X is not its best overlap);
    "unscored" when most of it lies on no truth label (a vertebra the truth leaves out: VerSe's
    experts mask only the vertebrae wholly in view, and the sliver of the next one cut by the crop,
    which touches the last masked vertebra at their joint, is not theirs to judge).
    """
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    outcome = {}
    for label in np.unique(predicted[predicted > 0]):
        name = label_by_id(int(label)).name
        if name.startswith("vertebra_"):
            outcome[int(label)] = "unnamed"
            continue
        if not (name.startswith("vertebrae_") or name == "sacrum"):
            continue
        ids, counts = np.unique(truth[predicted == label], return_counts=True)
        best = int(ids[np.argmax(counts)])
        outcome[int(label)] = "unscored" if best == 0 else "right" if best == label else "wrong"
    return outcome


def carries_label(labels: Volume, point_lps_mm, inward_lps, label: int, depth_mm: float = 1.5) -> bool:
    """Whether the voxel `depth_mm` inside a truth point (a process's tip), along the unit vector
    `inward_lps`, carries `label`: a tip's landmark can only be right where the segmentation gives its
    process to its own vertebra (tests/anatomy/test_spine_model.py, bench/bench_segmentation.py)."""
    point = np.asarray(point_lps_mm, float) + depth_mm * np.asarray(inward_lps, float)
    ijk = np.rint(labels.lps_to_ijk(point[None])[0]).astype(int)
    return int(np.asarray(labels.voxels)[tuple(ijk)]) == label

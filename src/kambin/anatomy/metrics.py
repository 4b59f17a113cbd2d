"""Agreement between two label maps on the same grid, and of a label map with a truth point."""

from __future__ import annotations

import numpy as np

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


def carries_label(labels: Volume, point_lps_mm, inward_lps, label: int, depth_mm: float = 1.5) -> bool:
    """Whether the voxel `depth_mm` inside a truth point (a process's tip), along the unit vector
    `inward_lps`, carries `label`: a tip's landmark can only be right where the segmentation gives its
    process to its own vertebra (tests/anatomy/test_spine_model.py, bench/bench_segmentation.py)."""
    point = np.asarray(point_lps_mm, float) + depth_mm * np.asarray(inward_lps, float)
    ijk = np.rint(labels.lps_to_ijk(point[None])[0]).astype(int)
    return int(np.asarray(labels.voxels)[tuple(ijk)]) == label

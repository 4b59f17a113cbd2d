"""Agreement between two label maps on the same grid."""

from __future__ import annotations

import numpy as np


def dice_per_label(predicted: np.ndarray, truth: np.ndarray) -> dict[int, float]:
    """Dice coefficient (Dice 1945: 2|A and B| / (|A| + |B|)) of every non-zero id in `truth`."""
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    scores = {}
    for label in np.unique(truth[truth > 0]):
        a, b = predicted == label, truth == label
        scores[int(label)] = float(2.0 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)))
    return scores

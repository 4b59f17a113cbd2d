"""The vertebrae of a bone label map, which the soft-tissue estimates are placed from: the registry
names its labels carry (`bone_names`), the landmarks of each vertebra T10-S1 (`measure_vertebrae`,
measured by `landmarks`) and the pairs of adjacent vertebrae, a disc between each (`adjacent_pairs`).
"""

from __future__ import annotations

import numpy as np

from kambin.anatomy.labels import label_by_id
from kambin.anatomy.landmarks import VertebraLandmarks, vertebra_landmarks
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume

#: Vertebrae in cranio-caudal order, the ones whose roots and discs are estimated.
ORDER = ("T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1")


# --- vertebrae -------------------------------------------------------------------------------


def bone_names(labels: Volume, names: dict[str, str] | None) -> dict[str, int]:
    """Registry name -> id of the labels present (names from the sidecar, or the registry)."""
    present = [int(i) for i in np.unique(np.asarray(labels.voxels)) if i != 0]
    if names is None:
        out = {}
        for i in present:
            try:
                out[label_by_id(i).name] = i
            except InvalidInputError:
                continue
        return out
    by_id = {int(k): v for k, v in names.items()}
    return {by_id[i]: i for i in present if i in by_id}


def measure_vertebrae(
    labels: Volume, ids: dict[str, int], notes: list[str] | None = None
) -> dict[str, VertebraLandmarks]:
    """Landmarks of every labelled vertebra T10-S1 (S1 from `sacrum` when S1 is not labelled apart).
    A vertebra whose label is too incomplete to measure is left out, with a line in `notes`.

    Raises:
        InvalidInputError: the label map has no measurable vertebra T10-S1.
    """
    out = {}
    for name in ORDER:
        key = f"vertebrae_{name}"
        if key not in ids and not (name == "S1" and "sacrum" in ids):
            continue
        try:
            label = ids[key] if key in ids else ids["sacrum"]
            out[name] = vertebra_landmarks(labels, label, name, is_sacral=name == "S1")
        except InvalidInputError as error:
            if notes is not None:
                notes.append(f"{name} left out: {error}")
    if not out:
        raise InvalidInputError(
            "the label map has no vertebra T10-S1 (registry names vertebrae_L1 ... vertebrae_S1); "
            "run `kambin segment` or give a label map with vertebrae"
        )
    return out


def adjacent_pairs(vertebrae: dict[str, VertebraLandmarks]) -> list[tuple[str, str]]:
    names = [n for n in ORDER if n in vertebrae]
    return [(a, b) for a, b in zip(names[:-1], names[1:], strict=False) if ORDER.index(b) == ORDER.index(a) + 1]

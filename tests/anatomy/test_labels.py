"""The label registry: unique names and ids, TotalSegmentator ids where it has the structure."""

import pytest

from kambin.anatomy.labels import LABELS, MOTION_SEGMENTS, label, label_by_id, label_id, nerve_root_name, sidecar
from kambin.errors import InvalidInputError


def test_unknown_names_and_ids_are_refused_with_hints():
    with pytest.raises(InvalidInputError, match="similar: .*vertebrae_L4"):
        label("vertebrae_L9")
    with pytest.raises(InvalidInputError, match="no registry label has id 9999"):
        label_by_id(9999)
    with pytest.raises(InvalidInputError, match="side must be one of"):
        nerve_root_name("L4", "up")


def test_names_and_ids_are_unique_and_styled():
    names = [entry.name for entry in LABELS]
    ids = [entry.id for entry in LABELS]
    assert len(set(names)) == len(names) and len(set(ids)) == len(ids)
    assert all(name == name.strip() and " " not in name for name in names)
    assert all(0 < i < 256 for i in ids)  # fits a uint8 label map
    assert all(len(entry.color_rgb) == 3 and all(0 <= c <= 1 for c in entry.color_rgb) for entry in LABELS)


def test_totalsegmentator_v2_ids_for_the_spine():
    # The ids of ../shared/data/ct/totalseg-example/example_ct_totalseg_labels.nii.gz.
    expected = {26: "vertebrae_S1", 27: "vertebrae_L5", 28: "vertebrae_L4", 29: "vertebrae_L3",
                30: "vertebrae_L2", 31: "vertebrae_L1", 32: "vertebrae_T12", 33: "vertebrae_T11"}
    for i, name in expected.items():
        assert label_id(name) == i


def test_every_lumbar_level_has_disc_and_roots():
    assert ("L4", "L5") in MOTION_SEGMENTS and ("L5", "S1") in MOTION_SEGMENTS
    for upper, lower in MOTION_SEGMENTS:
        assert label(f"disc_{upper}_{lower}").category == "disc"
    for vertebra in ("L1", "L2", "L3", "L4", "L5", "S1"):
        for side in ("left", "right"):
            assert label(nerve_root_name(vertebra, side)).category == "neural"


def test_sidecar_maps_string_ids_to_names():
    assert sidecar([0, 28, 27, 28]) == {"27": "vertebrae_L5", "28": "vertebrae_L4"}

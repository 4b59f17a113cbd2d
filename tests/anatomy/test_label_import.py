"""Import of label maps made elsewhere onto the registry's ids.

Real data: TotalSegmentator's example labels (Apache-2.0, Wasserthal et al., Radiology: AI 2023) and
VerSe expert masks (CC BY-SA 4.0, Sekuboyina et al., Med Image Anal 2021), from ../shared/data.
"""

import json

import numpy as np
import pytest

from kambin.anatomy.label_import import import_label_map
from kambin.errors import InvalidInputError
from kambin.imaging import Volume, read_volume, write_volume


def test_totalsegmentator_labels_import_unchanged(shared_data):
    folder = shared_data / "ct" / "totalseg-example"
    ct = read_volume(folder / "example_ct.nii.gz")
    labels = import_label_map(folder / "example_ct_totalseg_labels.nii.gz", "totalsegmentator", ct)
    assert labels.same_grid(ct) and labels.voxels.dtype == np.uint8 and labels.modality == "SEG"
    assert sorted(int(i) for i in np.unique(labels.voxels) if i) == [26, 27, 28, 29, 30, 31, 32, 33]


def test_verse_ids_map_to_registry(shared_data):
    folder = shared_data / "ct" / "verse"
    ct = read_volume(folder / "sub-verse007_ct.nii.gz")
    labels = import_label_map(folder / "sub-verse007_seg-vert_msk.nii.gz", "verse", ct)
    # VerSe 16..22 = T9..L3 -> TotalSegmentator v2 35..29.
    assert sorted(int(i) for i in np.unique(labels.voxels) if i) == [29, 30, 31, 32, 33, 34, 35]
    raw = read_volume(folder / "sub-verse007_seg-vert_msk.nii.gz").voxels
    assert np.array_equal(labels.voxels == 29, raw == 22)  # L3


def test_label_map_on_another_grid_is_refused(shared_data):
    folder = shared_data / "ct" / "verse"
    ct = read_volume(folder / "sub-verse007_ct.nii.gz")
    with pytest.raises(InvalidInputError, match="not on the CT's grid"):
        import_label_map(folder / "sub-verse006_seg-vert_msk.nii.gz", "verse", ct)


def test_json_mapping_and_its_errors(tmp_path):
    grid = Volume.from_geometry(np.zeros((8, 8, 8), dtype=np.uint8), (1.0, 1.0, 1.0))
    voxels = grid.voxels.copy()
    voxels[:4] = 5
    voxels[4:6] = 40
    path = write_volume(grid.with_voxels(voxels), tmp_path / "slicer.nii.gz")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"5": "vertebrae_L4", "40": None}))
    out = import_label_map(path, f"json:{mapping}", grid)
    assert set(np.unique(out.voxels)) == {0, 28}
    mapping.write_text(json.dumps({"5": "vertebrae_L4"}))
    with pytest.raises(InvalidInputError, match=r"ids \[40\] that the mapping does not mention"):
        import_label_map(path, f"json:{mapping}", grid)
    mapping.write_text(json.dumps({"5": "vertebra_L4", "40": None}))
    with pytest.raises(InvalidInputError, match="unknown label name"):
        import_label_map(path, f"json:{mapping}", grid)
    with pytest.raises(InvalidInputError, match="--label-scheme must be one of"):
        import_label_map(path, "slicer", grid)
    with pytest.raises(InvalidInputError, match="not a VerSe vertebra id"):
        import_label_map(path, "verse", grid)

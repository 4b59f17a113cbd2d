"""The label map's sidecar: written with the label map (only the ids present), read back by the one
reader everyone uses, and refused in one line when it is not a JSON object of id to name."""

import numpy as np
import pytest

from kambin.anatomy.label_io import read_label_names, sidecar_path, write_label_map
from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume


def test_sidecar_round_trip_missing_and_broken(tmp_path):
    voxels = np.zeros((4, 4, 4), np.uint8)
    voxels[1, 1, 1], voxels[2, 2, 2] = 27, 28
    labels = Volume.from_geometry(voxels, (1.0, 1.0, 1.0))
    path, sidecar = write_label_map(labels, {"27": "vertebrae_L5", "28": "vertebrae_L4", "29": "vertebrae_L3"},
                                    tmp_path / "seg.nii.gz")
    assert sidecar == sidecar_path(path) == tmp_path / "seg.json"
    assert read_label_names(path) == {"27": "vertebrae_L5", "28": "vertebrae_L4"}
    assert read_label_names(tmp_path / "other.nii.gz") is None
    for text in ("[1, 2]", "{not json", "\xff"):
        sidecar.write_bytes(text.encode("latin-1"))
        with pytest.raises(InvalidInputError, match="seg.json: not a JSON object of label id to name"):
            read_label_names(path)

"""Vertebra segmentation and naming: bad input first, then real CTs scored against expert masks.

Real data from ../shared/data: VerSe (CC BY-SA 4.0, Sekuboyina et al., Med Image Anal 2021) and
TotalSegmentator's example CT and labels (Apache-2.0, Wasserthal et al., Radiology: AI 2023).
"""

import json

import numpy as np
import pytest

from kambin.anatomy.label_import import import_label_map
from kambin.anatomy.metrics import dice_per_label
from kambin.anatomy.segmentation import segment_spine
from kambin.cli import main
from kambin.errors import InvalidInputError
from kambin.imaging import Volume, read_volume, write_volume


def _ct(voxels, spacing=(1.0, 1.0, 1.0)):
    return Volume.from_geometry(voxels.astype(np.float32), spacing)


def _head_ct():
    """A skull: an ellipsoidal bone shell around brain, in air."""
    x, y, z = np.mgrid[-80:80:2.0, -100:100:2.0, -70:70:2.0]
    r = np.sqrt((x / 70) ** 2 + (y / 90) ** 2 + (z / 60) ** 2)
    voxels = np.full(r.shape, -1000.0)
    voxels[r < 1.0] = 35.0
    voxels[(r >= 0.9) & (r < 1.0)] = 1200.0
    return _ct(voxels, (2.0, 2.0, 2.0))


def test_mr_like_volume_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError, match="not a CT in Hounsfield units"):
        segment_spine(_ct(rng.uniform(0, 1500, (60, 60, 60))))
    with pytest.raises(InvalidInputError, match="not CT"):
        segment_spine(Volume.from_geometry(np.zeros((60, 60, 60), np.float32), (1, 1, 1), modality="MR"))


def test_five_slice_volume_is_refused():
    with pytest.raises(InvalidInputError, match="at least 8 slices"):
        segment_spine(_ct(np.full((100, 100, 5), -1000.0), (1.0, 1.0, 3.0)))


def test_head_ct_without_spine_is_refused():
    with pytest.raises(InvalidInputError, match="no vertebral column found"):
        segment_spine(_head_ct())


def _run(argv):
    """Run the CLI; return its exit code (typer exits 0 by SystemExit on success)."""
    try:
        main(argv)
    except SystemExit as exit_:
        return exit_.code
    return 0


@pytest.mark.parametrize("case, hint", [("sub-verse006", "L5"), ("sub-verse007", "L3")])
def test_verse_dice_is_reported(shared_data, case, hint):
    folder = shared_data / "ct" / "verse"
    ct = read_volume(folder / f"{case}_ct.nii.gz")
    truth = import_label_map(folder / f"{case}_seg-vert_msk.nii.gz", "verse", ct)
    result = segment_spine(ct, lowest=hint)
    assert result.labels.same_grid(ct) and result.identification == f"user hint --lowest {hint}"
    dice = dice_per_label(result.labels.voxels, truth.voxels)
    print(case, {k: round(v, 3) for k, v in dice.items()}, "mean", round(float(np.mean(list(dice.values()))), 3))
    assert len(dice) >= 2


def test_cropped_ct_without_landmarks_asks_for_a_hint(shared_data):
    ct = read_volume(shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz")
    with pytest.raises(InvalidInputError, match="give --lowest NAME or --highest NAME"):
        segment_spine(ct)


def test_cli_writes_labels_and_sidecar_and_nothing_on_failure(shared_data, tmp_path, capsys):
    ct_path = shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz"
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "seg.nii.gz"), "--lowest", "L5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    sidecar = json.loads((tmp_path / "seg.json").read_text())
    assert "vertebrae_L5" in sidecar.values() and summary["identification"] == "user hint --lowest L5"
    assert read_volume(tmp_path / "seg.nii.gz").same_grid(read_volume(ct_path))
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "none.nii.gz")]) == 1
    head = write_volume(_head_ct(), tmp_path / "head.nii.gz")
    assert _run(["segment", str(head), "-o", str(tmp_path / "head_seg.nii.gz")]) == 1
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "x.nii.gz"), "--engine", "totalsegmentator"]) == 1
    assert "needs" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head.nii.gz", "seg.json", "seg.nii.gz"]


def test_cli_imports_totalsegmentator_labels(shared_data, tmp_path):
    folder = shared_data / "ct" / "totalseg-example"
    assert _run(["segment", str(folder / "example_ct.nii.gz"), "-o", str(tmp_path / "ts.nii.gz"),
                 "--labels-from", str(folder / "example_ct_totalseg_labels.nii.gz"),
                 "--label-scheme", "totalsegmentator"]) == 0
    assert json.loads((tmp_path / "ts.json").read_text())["27"] == "vertebrae_L5"

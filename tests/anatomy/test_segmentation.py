"""Vertebra segmentation and naming: bad input first, then real CTs scored against expert masks.

Real data from ../shared/data: VerSe (CC BY-SA 4.0, Sekuboyina et al., Med Image Anal 2021) and
TotalSegmentator's example CT and labels (Apache-2.0, Wasserthal et al., Radiology: AI 2023).
"""

import json

import numpy as np
import pytest

from kambin.anatomy.label_import import import_label_map
from kambin.anatomy.labels import label_by_id
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


def _best_match(predicted, truth):
    """Truth id -> the predicted id overlapping it most (0 if none): names are right when equal."""
    out = {}
    for i in np.unique(truth[truth > 0]):
        ids, counts = np.unique(predicted[(truth == i) & (predicted > 0)], return_counts=True)
        out[int(i)] = int(ids[np.argmax(counts)]) if ids.size else 0
    return out


# Floors asserted (measured in bench/bench_segmentation.py): VerSe, issue 4's mean of 0.85 (reached:
# 0.856), and every vertebra at least 0.80 (reached: 0.821); the phantoms below, issue 4's 0.92 for
# every vertebra (see SYNTHETIC_MIN_DICE).
VERSE_MIN_DICE = 0.80
VERSE_MEAN_DICE = 0.85


@pytest.fixture(scope="module")
def verse_results(shared_data):
    folder = shared_data / "ct" / "verse"
    results = {}
    for case, hint in (("sub-verse006", "L5"), ("sub-verse007", "L3")):
        ct = read_volume(folder / f"{case}_ct.nii.gz")
        truth = import_label_map(folder / f"{case}_seg-vert_msk.nii.gz", "verse", ct)
        result = segment_spine(ct, lowest=hint)
        results[case] = (ct, truth, result, hint)
    return results


def test_verse_dice_and_names_given_the_hint(verse_results):
    scores = []
    for case, (ct, truth, result, hint) in verse_results.items():
        assert result.labels.same_grid(ct) and result.identification == f"user hint --lowest {hint}"
        dice = dice_per_label(result.labels.voxels, truth.voxels)
        print(case, {label_by_id(k).name: round(v, 3) for k, v in dice.items()})
        assert _best_match(result.labels.voxels, truth.voxels) == {k: k for k in dice}, case
        assert min(dice.values()) >= VERSE_MIN_DICE, (case, dice)
        scores += list(dice.values())
    print("VerSe mean Dice", round(float(np.mean(scores)), 3))
    assert len(scores) == 9 and np.mean(scores) >= VERSE_MEAN_DICE


def test_highest_hint_names_the_same_levels_as_lowest(verse_results):
    """sub-verse006 shows L4 whole and L5 cut by the crop's lower edge: --highest L4 and
    --lowest L5 (the lowest vertebra mostly in view) must give the same labels."""
    ct, _, by_lowest, _ = verse_results["sub-verse006"]
    by_highest = segment_spine(ct, highest="L4")
    assert by_highest.identification == "user hint --highest L4"
    assert np.array_equal(by_highest.labels.voxels, by_lowest.labels.voxels)


def test_totalsegmentator_example_agrees_and_is_named_right(shared_data):
    """No hint: the sacrum and the last ribs name the levels; compared with TotalSegmentator's labels."""
    folder = shared_data / "ct" / "totalseg-example"
    ct = read_volume(folder / "example_ct.nii.gz")
    truth = import_label_map(folder / "example_ct_totalseg_labels.nii.gz", "totalsegmentator", ct)
    result = segment_spine(ct)
    dice = dice_per_label(result.labels.voxels, truth.voxels)
    print({label_by_id(k).name: round(v, 3) for k, v in dice.items()}, result.identification)
    matched = _best_match(result.labels.voxels, truth.voxels)
    # T11 shows only its lowest few millimetres at the top of the scan, with no T10-T11 or
    # T11-T12 disc in view to cut it off: it is counted into T12 and not scored for its name.
    volumes = {k: int((truth.voxels == k).sum()) for k in dice}
    named = [k for k in dice if volumes[k] * float(np.prod(ct.spacing_mm)) >= 15_000]
    assert {k: matched[k] for k in named} == {k: k for k in named}
    assert set(named) >= {26, 27, 28, 29, 30, 31, 32}
    assert "sacrum" in result.identification
    assert min(dice[k] for k in named) >= 0.6 and np.mean([dice[k] for k in named]) >= 0.78
    assert {"sacrum", "S1"} <= set(result.vertebrae) and result.pelvis == ["hip_left", "hip_right"]
    assert set(result.sidecar().values()) == {label_by_id(int(i)).name for i in np.unique(result.labels.voxels) if i}


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


# Synthetic patients (kambin.phantom): every vertebra named from the CT alone, Dice against the
# phantom's label map, the iliac crest's top against the phantom's truth. Three of the ten that
# bench/bench_segmentation.py scores, covering both spacings and three pathologies.
SYNTHETIC_CASES = [
    (0, "none", (1.0, 1.0, 1.0)),
    (1, "paracentral-herniation", (0.8, 0.8, 1.5)),
    (3, "high-iliac-crest", (0.8, 0.8, 1.5)),
]
# Issue 4's floor for every vertebra. Reached on these three: worst vertebra 0.946 (seed 1's S1; its
# lumbar vertebrae 0.979 and more), per-patient means 0.987 / 0.976 / 0.979; the mean's floor 0.015
# under the lowest. Before the phantom kept its vertebrae apart (`phantom.vertebra.
# NEIGHBOUR_CLEARANCE_MM`) the worst was 0.930, with half the articular processes on the vertebra
# above, fused to its lamina.
SYNTHETIC_MIN_DICE = 0.92
SYNTHETIC_MEAN_DICE = 0.96
CREST_TOLERANCE_MM = 3.0


@pytest.mark.parametrize("seed, pathology, spacing", SYNTHETIC_CASES)
def test_synthetic_patient_named_without_hint_dice_and_iliac_crest(seed, pathology, spacing):
    from kambin.anatomy.pelvis import iliac_crest_tops_lps_mm
    from kambin.phantom import make_patient

    patient = make_patient(seed, pathology=pathology, spacing_mm=spacing)
    result = segment_spine(patient.ct)
    truth = patient.labels.voxels.copy()
    truth[(truth < 26) | (truth > 31)] = 0  # S1 and L5..L1
    dice = dice_per_label(result.labels.voxels, truth)
    print(seed, pathology, {label_by_id(k).name: round(v, 3) for k, v in dice.items()}, result.identification)
    assert sorted(dice) == [26, 27, 28, 29, 30, 31]
    assert _best_match(result.labels.voxels, truth) == {k: k for k in dice}
    assert "sacrum" in result.identification
    assert min(dice.values()) >= SYNTHETIC_MIN_DICE and np.mean(list(dice.values())) >= SYNTHETIC_MEAN_DICE
    tops = iliac_crest_tops_lps_mm(result.labels)
    for side, top in patient.truth.iliac_crest.top_lps_mm.items():
        assert abs(tops[side][2] - top[2]) <= CREST_TOLERANCE_MM, (side, tops[side], top)

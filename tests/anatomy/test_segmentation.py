"""Vertebra segmentation and naming: bad input first, then real CTs scored against expert masks.

Real data from ../shared/data: VerSe (CC BY-SA 4.0, Sekuboyina et al., Med Image Anal 2021) and
TotalSegmentator's example CT and labels (Apache-2.0, Wasserthal et al., Radiology: AI 2023).
"""

import json

import numpy as np
import pytest

from kambin.anatomy.label_import import import_label_map
from kambin.anatomy.labels import LABELS, label_by_id, label_id
from kambin.anatomy.metrics import dice_per_label, level_naming
from kambin.anatomy.segmentation import segment_spine
from kambin.cli import main
from kambin.errors import InvalidInputError
from kambin.imaging import Volume, read_volume, write_volume
from kambin.imaging.grid import crop_to_lps_box, reorient_like, restore, storage_orders

# Slow (segmentations of phantoms and real CTs: 10-45 s a test): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow


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


def _level_at(labels, name):
    """A user's --level-at click: the centre of the truth's vertebra `name`, in LPS mm."""
    ijk = np.argwhere(labels.voxels == label_id(f"vertebrae_{name}")).mean(axis=0)
    return (tuple(float(v) for v in labels.ijk_to_lps(ijk)), name)


#: Every real CT in ../shared/data/ct with its expert (or TotalSegmentator) vertebra masks, each run
#: with the hint its crop needs and without any: case -> (CT, truth, scheme).
REAL_CTS = {
    "sub-verse006": ("ct/verse/sub-verse006_ct.nii.gz", "ct/verse/sub-verse006_seg-vert_msk.nii.gz", "verse"),
    "sub-verse007": ("ct/verse/sub-verse007_ct.nii.gz", "ct/verse/sub-verse007_seg-vert_msk.nii.gz", "verse"),
    "totalseg-example": (
        "ct/totalseg-example/example_ct.nii.gz",
        "ct/totalseg-example/example_ct_totalseg_labels.nii.gz",
        "totalsegmentator",
    ),
    "tptbox-sample": (
        "ct/tptbox-sample/sub-ct_label-22_ct.nii.gz",
        "ct/tptbox-sample/sub-ct_seg-vert_label-22_msk.nii.gz",
        "verse",
    ),
}
#: The hint each crop needs (a reader's: the lowest vertebra mostly in view, or a click inside one);
#: TotalSegmentator's example shows the sacrum and the last ribs and needs none.
HINTS = {"sub-verse006": {"lowest": "L5"}, "sub-verse007": {"lowest": "L3"}, "tptbox-sample": {"level_at": "L3"}}


@pytest.fixture(scope="module")
def real_runs(shared_data):
    """(case, hint or "none") -> (CT, truth label map, SpineSegmentation or the InvalidInputError it raised)."""
    runs = {}
    for case, (ct_path, truth_path, scheme) in REAL_CTS.items():
        ct = read_volume(shared_data / ct_path)
        truth = import_label_map(shared_data / truth_path, scheme, ct)
        try:
            runs[(case, "none")] = (ct, truth, segment_spine(ct))
        except InvalidInputError as error:
            runs[(case, "none")] = (ct, truth, error)
        hint = dict(HINTS.get(case, {}))
        if hint:
            if "level_at" in hint:
                hint["level_at"] = [_level_at(truth, hint["level_at"])]
            text = " ".join(f"{k}={v if k != 'level_at' else v[0][1]}" for k, v in hint.items())
            try:
                runs[(case, text)] = (ct, truth, segment_spine(ct, **hint))
            except InvalidInputError as error:
                runs[(case, text)] = (ct, truth, error)
    return runs


@pytest.fixture(scope="module")
def verse_results(real_runs):
    return {
        case: (ct, truth, result, HINTS[case]["lowest"])
        for (case, hint), (ct, truth, result) in real_runs.items()
        if case.startswith("sub-verse") and hint != "none"
    }


def test_no_real_ct_has_a_vertebra_named_wrong(real_runs):
    """The naming table (issue 21): on every real CT, with and without its hint, each vertebra labelled
    is named right or left unnamed with the reason, never named wrong (`metrics.level_naming`); with
    its hint every truth vertebra a reader can count carries its own name, or the hint is refused.
    TotalSegmentator's example shows only the lowest few millimetres of T11 (no disc above it to cut
    it off): counted into T12, it is not counted (under 15 ml in view). tptbox-sample (1.5 mm, 70 mm
    tall, bodies of 150-210 HU): the column found runs along its arches, not its bodies, and the
    segmentation is refused, with a hint or without (`segmentation_checks.check_column_in_bodies`)."""
    table = []
    for (case, hint), (ct, truth, result) in real_runs.items():
        if isinstance(result, InvalidInputError):
            table.append(f"{case:18s} {hint:14s} refused: {result}")
            assert case == "tptbox-sample" and "vertebral bodies were not found" in str(result), (case, result)
            continue
        outcome = level_naming(result.labels.voxels, truth.voxels)
        row = " ".join(f"{label_by_id(k).name.removeprefix('vertebrae_')}:{v}" for k, v in sorted(outcome.items()))
        table.append(f"{case:18s} {hint:14s} {row}  [{result.identification}]")
        assert "wrong" not in outcome.values(), (case, hint, outcome)
        volume_ml = {
            k: float((truth.voxels == k).sum() * np.prod(ct.spacing_mm)) / 1000 for k in np.unique(truth.voxels)
        }
        counted = [k for k, ml in volume_ml.items() if k and ml >= 15]
        matched = _best_match(result.labels.voxels, truth.voxels)
        if hint == "none" and case != "totalseg-example":
            assert not result.named and set(outcome.values()) == {"unnamed"}, (case, outcome)
            assert "neither the sacrum" in result.identification
        else:
            assert result.named and {k: matched[k] for k in counted} == {k: k for k in counted}, (case, hint, matched)
    print("\n".join(table))
    assert len(table) == 7


def test_cropped_ct_without_landmarks_is_labelled_but_not_named(real_runs):
    _, _, result = real_runs[("sub-verse006", "none")]
    assert not result.named and result.confidence == 0.0
    assert result.vertebrae == ["vertebra_1", "vertebra_2", "vertebra_3", "vertebra_4"]
    assert result.identification.startswith("not named: neither the sacrum") and "--level-at" in result.identification
    ids = sorted(int(i) for i in np.unique(result.labels.voxels) if i)
    assert ids == [161, 162, 163, 164]


def test_thick_slices_keep_their_bone_and_say_a_vessel_could_not_be_cut(real_runs):
    """sub-verse006 (1x1x3 mm): the 3 mm slices blur the cortex into the cancellous bone (10 % of the
    bodies' bone inside a shell), so the cortical-shell cut (`segmentation_checks.keep_within_cortex`) is
    not made, which would take bone (forced: L4 Dice 0.88 -> 0.31, L5 0.83 -> 0.44; an earlier variant
    of the cut erased L5, and --lowest L5 then named L4 "L5"), and the warning says what that leaves
    unchecked."""
    ct, truth, result = real_runs[("sub-verse006", "lowest=L5")]
    assert any("cortex is not resolved" in w and "voxels over 2 mm" in w for w in result.warnings), result.warnings
    dice = dice_per_label(result.labels.voxels, truth.voxels)
    assert min(dice.values()) > 0.8, dice


def test_storage_order_does_not_change_the_labels(real_runs):
    """Eight of the 48 storage orders of sub-verse006 (each permutation, flips on and off; all 48 in
    bench/bench_segmentation.py): the same labels in physical space (Dice >= 0.98 with the original)."""
    ct, _, reference = real_runs[("sub-verse006", "lowest=L5")]
    orders = storage_orders()[::6]
    assert len({p for p, _ in orders}) == 6 and len(orders) == 8
    for permutation, flips in orders:
        result = segment_spine(restore(ct, permutation, flips), lowest="L5")
        back = reorient_like(result.labels, ct)
        dice = dice_per_label(back.voxels, reference.labels.voxels)
        assert result.vertebrae == reference.vertebrae, (permutation, flips)
        assert min(dice.values()) >= 0.98, (permutation, flips, dice)


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


def test_cli_writes_labels_sidecar_and_level_picture_and_nothing_on_failure(shared_data, tmp_path, capsys):
    ct_path = shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz"
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "seg.nii.gz"), "--lowest", "L5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    sidecar = json.loads((tmp_path / "seg.json").read_text())
    assert "vertebrae_L5" in sidecar.values() and summary["identification"] == "user hint --lowest L5"
    assert summary["named"] and summary["levels_picture"] == str(tmp_path / "seg.levels.png")
    assert read_volume(tmp_path / "seg.nii.gz").same_grid(read_volume(ct_path))
    # No hint and no landmark in view: labelled, not named, and the command says why.
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "none.nii.gz")]) == 0
    out = capsys.readouterr().out
    assert "levels NOT named" in out and "neither the sacrum" in out
    assert set(json.loads((tmp_path / "none.json").read_text()).values()) == {f"vertebra_{n}" for n in range(1, 5)}
    head = write_volume(_head_ct(), tmp_path / "head.nii.gz")
    assert _run(["segment", str(head), "-o", str(tmp_path / "head_seg.nii.gz")]) == 1
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "x.nii.gz"), "--engine", "totalsegmentator"]) == 1
    assert "needs" in capsys.readouterr().err
    assert _run(["segment", str(ct_path), "-o", str(tmp_path / "y.nii.gz"), "--level-at", "0,0,0=L9"]) == 1
    assert "--level-at must be" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "head.nii.gz",
        "none.json",
        "none.levels.png",
        "none.nii.gz",
        "seg.json",
        "seg.levels.png",
        "seg.nii.gz",
    ]


def test_cli_plan_refuses_a_level_it_cannot_find_by_name(shared_data, tmp_path, capsys):
    ct_path = shared_data / "ct" / "verse" / "sub-verse006_ct.nii.gz"
    argv = ["plan", str(ct_path), "--level", "L4-L5", "--side", "left", "-o", str(tmp_path / "plan.json")]
    assert _run(argv) == 1
    err = capsys.readouterr().err
    assert "no level can be planned by name" in err and "neither the sacrum" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_imports_totalsegmentator_labels(shared_data, tmp_path):
    folder = shared_data / "ct" / "totalseg-example"
    assert (
        _run(
            [
                "segment",
                str(folder / "example_ct.nii.gz"),
                "-o",
                str(tmp_path / "ts.nii.gz"),
                "--labels-from",
                str(folder / "example_ct_totalseg_labels.nii.gz"),
                "--label-scheme",
                "totalsegmentator",
            ]
        )
        == 0
    )
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


# The lumbar crop, made from a phantom so that every vertebra's truth is known: L1 to L5 at
# 1 mm, the sacrum and the ilia out of view, 120 mm wide, stored sagittally (the direction matrix
# permutes and flips the axes). No cue is in view: unnamed without a hint, and each hint obeyed.
SAGITTAL = ((2, 0, 1), (False, True, False))


@pytest.fixture(scope="module")
def lumbar_crop():
    from kambin.phantom import make_patient

    patient = make_patient(0)
    bodies = {v: np.asarray(t.body_centre_lps_mm) for v, t in patient.truth.vertebrae.items()}
    low, high = (-60.0, -200.0, bodies["L5"][2] - 15.0), (60.0, 200.0, bodies["L1"][2] + 30.0)
    ct, truth = (restore(crop_to_lps_box(v, low, high), *SAGITTAL) for v in (patient.ct, patient.labels))
    lumbar = truth.with_voxels(np.where(np.isin(truth.voxels, [27, 28, 29, 30, 31]), truth.voxels, 0).astype(np.uint8))
    return ct, lumbar, bodies


@pytest.mark.parametrize(
    "hint",
    [{"lowest": "L5"}, {"highest": "L1"}, {"level_at": "L3"}, {"lowest": "L5", "level_at": "L2"}],
    ids=["lowest", "highest", "level-at", "lowest-and-level-at"],
)
def test_lumbar_crop_stored_sagittally_is_named_as_the_hint_says(lumbar_crop, hint):
    ct, truth, bodies = lumbar_crop
    hint = dict(hint)
    if "level_at" in hint:
        hint["level_at"] = [(tuple(bodies[hint["level_at"]]), hint["level_at"])]
    result = segment_spine(ct, **hint)
    assert result.named and result.identification.startswith("user hint")
    assert set(level_naming(result.labels.voxels, truth.voxels).values()) <= {"right", "unscored"}, result.vertebrae
    assert _best_match(result.labels.voxels, truth.voxels) == {k: k for k in (27, 28, 29, 30, 31)}


def test_lumbar_crop_without_a_hint_is_unnamed_and_a_wrong_hint_is_still_obeyed(lumbar_crop):
    """A hint is the user's word: --lowest L4 on a crop whose lowest vertebra is L5 names it L4 (and
    the level picture shows it); nothing in view contradicts it, so no warning either."""
    ct, truth, bodies = lumbar_crop
    unnamed = segment_spine(ct)
    assert not unnamed.named and set(level_naming(unnamed.labels.voxels, truth.voxels).values()) == {"unnamed"}
    assert set(_best_match(unnamed.labels.voxels, truth.voxels).values()) <= set(range(161, 191))
    shifted = segment_spine(ct, lowest="L4")
    assert _best_match(shifted.labels.voxels, truth.voxels) == {27: 28, 28: 29, 29: 30, 30: 31, 31: 32}
    with pytest.raises(InvalidInputError, match="name the vertebrae differently"):
        segment_spine(ct, lowest="L5", level_at=[(tuple(bodies["L3"]), "L2")])
    with pytest.raises(InvalidInputError, match="lies outside the spine's region"):
        segment_spine(ct, level_at=[(tuple(bodies["L3"] + [0.0, -60.0, 0.0]), "L3")])
    disc_centre = (bodies["L3"] + bodies["L4"]) / 2  # in the L3-L4 disc: no vertebra's bone
    with pytest.raises(InvalidInputError, match="lies in no vertebra found"):
        segment_spine(ct, level_at=[(tuple(disc_centre), "L3")])


def _fraction_labelled_bone(result, truth, prefix):

    organ = np.isin(truth, [label.id for label in LABELS if label.name.startswith(prefix)])
    bone = np.isin(result.labels.voxels, [label.id for label in LABELS if label.category == "bone"])
    return float((organ & bone).sum() / organ.sum())


@pytest.mark.parametrize("phase", ["arterial", "venous"])
def test_contrast_enhanced_vessels_and_organs_are_not_bone_and_the_levels_hold(phase):
    """Phantom seed 0 with contrast (1.5 mm): the aorta, vena cava and iliac vessels (150-320 HU) lie
    against the bodies and merged with them above the bone threshold (87 % of the aorta labelled
    bone, L4 Dice 0.48, before `bone.within_cortex`); now they, the kidneys, spleen and liver carry
    no bone label (issue 21's floor: under 0.5 %), every vertebra is named right and overlaps its
    truth (Dice >= 0.95)."""
    from kambin.phantom import make_patient

    patient = make_patient(0, contrast=phase, spacing_mm=(1.5, 1.5, 1.5))
    result = segment_spine(patient.ct)
    truth = patient.labels.voxels
    for organ in ("aorta", "inferior_vena_cava", "iliac_artery", "iliac_vena", "kidney", "spleen", "liver"):
        assert _fraction_labelled_bone(result, truth, organ) < 0.005, organ
    assert result.named and result.vertebrae[0] == "L1", (result.vertebrae, result.identification)
    assert set(level_naming(result.labels.voxels, truth).values()) == {"right"}
    dice = dice_per_label(result.labels.voxels, truth)
    lumbar = [label_id(f"vertebrae_L{n}") for n in range(1, 6)]
    assert min(dice[i] for i in lumbar) >= 0.95, {label_by_id(i).name: round(dice[i], 3) for i in lumbar}


def test_a_missed_lumbosacral_disc_leaves_the_levels_unnamed():
    """Phantom seed 2 at 1.5 mm: the L5-S1 disc is not found, L5 and S1 make one segment that meets
    the ilia, and counting from it named every level one too high (L1 called L2). The sacral segment
    reaching 39 mm above its sacroiliac joints gives it away (`segmentation_checks.count_suspect`). A click
    in L3 is obeyed above that segment, which is left unlabelled (it had been named L5 whole); a click
    inside it is refused (`segmentation_checks.named_short_of`)."""
    from kambin.phantom import make_patient

    patient = make_patient(2, spacing_mm=(1.5, 1.5, 1.5))
    truth = patient.labels.voxels
    result = segment_spine(patient.ct)
    assert not result.named and "above its sacroiliac joints" in result.identification, result.identification
    assert "wrong" not in level_naming(result.labels.voxels, truth).values()
    l3 = tuple(patient.truth.vertebrae["L3"].body_centre_lps_mm)
    hinted = segment_spine(patient.ct, level_at=[(l3, "L3")])
    outcomes = level_naming(hinted.labels.voxels, truth)
    assert hinted.named and set(outcomes.values()) == {"right"} and len(outcomes) == 4, outcomes  # L1-L4
    assert any("not labelled" in w and "sacroiliac" in w for w in hinted.warnings), hinted.warnings
    l5 = tuple(patient.truth.vertebrae["L5"].body_centre_lps_mm)
    with pytest.raises(InvalidInputError, match="cannot be trusted as one vertebra"):
        segment_spine(patient.ct, level_at=[(l5, "L5")])

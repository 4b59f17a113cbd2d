"""Vertebra segmentation on the phantom's variations (issue 21), each with exact truth: T11 to the
sacrum with 11, 12 or 13 rib pairs, a sacralised L5, osteoporotic bone, a wedge fracture, pedicle
screws and rods, a lumbar scoliosis, an isthmic spondylolisthesis and bridging osteophytes. Every
vertebra is named right, or left unnamed with the reason, or the CT refused; never named wrong. All at
1.5 mm, seeded."""

import numpy as np
import pytest

from kambin.anatomy.labels import LABELS, label_id
from kambin.anatomy.metrics import dice_per_label, level_naming
from kambin.anatomy.segmentation import segment_spine
from kambin.errors import InvalidInputError
from kambin.phantom import make_patient

# Slow (a phantom and its segmentation per test: 15-35 s): `make test` runs it; `make test-quick` leaves it out.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("rib_pairs", [12, 11, 13])
def test_thoracolumbar_phantom_is_named_by_sacrum_and_ribs_or_left_unnamed(rib_pairs):
    """T11 to the sacrum with the lowest ribs (the phantom's thoracic option, 1.5 mm). 12 rib pairs:
    the sacrum and the last ribs agree, and T11-S1 are named right (mean Dice >= 0.92, issue 21's
    floor for the phantom variations). 11 or 13 pairs (and six lumbar vertebrae, which look as 11
    pairs do in this field of view): the cues disagree, every vertebra is labelled and left
    unnamed, and the output says why; a click in the true L3 then names every one right."""
    patient = make_patient(0, thoracic=True, rib_pairs=rib_pairs, spacing_mm=(1.5, 1.5, 1.5))
    truth = patient.labels.voxels
    result = segment_spine(patient.ct)
    outcomes = level_naming(result.labels.voxels, truth)
    assert "wrong" not in outcomes.values()
    if rib_pairs == 12:
        assert result.named and "counts agree" in result.identification, result.identification
        assert result.vertebrae[:3] == ["T11", "T12", "L1"] and set(outcomes.values()) == {"right"}
        vertebrae = np.where((truth >= label_id("vertebrae_S1")) & (truth <= label_id("vertebrae_T11")), truth, 0)
        dice = dice_per_label(result.labels.voxels, vertebrae)
        assert np.mean(list(dice.values())) >= 0.92, dice
        return
    assert not result.named and "transitional anatomy" in result.identification, result.identification
    assert len(result.vertebrae) == 8 and set(outcomes.values()) == {"unnamed"}
    if rib_pairs == 11:
        l3 = tuple(patient.truth.vertebrae["L3"].body_centre_lps_mm)
        hinted = segment_spine(patient.ct, level_at=[(l3, "L3")])
        assert hinted.named and "--level-at L3" in hinted.identification, hinted.identification
        assert set(level_naming(hinted.labels.voxels, truth).values()) == {"right"}


def test_sacralised_l5_is_never_named_wrong():
    """The phantom's sacralised L5 (its L5-S1 disc space ossified): L5 and S1 may read as one sacral
    piece, and counting from it would name every level one too high. Each vertebra is named right
    or left unnamed, never named wrong."""
    patient = make_patient(1, sacralised_l5=True, spacing_mm=(1.5, 1.5, 1.5))
    result = segment_spine(patient.ct)
    outcomes = level_naming(result.labels.voxels, patient.labels.voxels)
    assert outcomes and "wrong" not in outcomes.values(), (outcomes, result.identification)
    if result.named:  # seed 1 is named (sacrum cue): then issue 21's floor for the variations holds
        assert np.mean(list(_lumbosacral_dice(result, patient.labels.voxels).values())) >= 0.92


@pytest.mark.parametrize(("options", "refused"), [({"osteoporosis": True}, True), ({"fracture": "L2"}, False)])
def test_osteoporotic_bodies_are_refused_and_a_fracture_is_named_right(options, refused):
    """Phantom seed 0 at 1.5 mm. Osteoporotic bodies (near 80 HU, as dark as the discs): the column
    was found along the arches and every vertebra was named one level off; now the segmentation is
    refused, saying the bodies were not found. A wedge compression fracture of L2 (half its
    anterior height): every vertebra named right, mean Dice >= 0.92."""
    patient = make_patient(0, spacing_mm=(1.5, 1.5, 1.5), **options)
    if refused:
        with pytest.raises(InvalidInputError, match="vertebral bodies were not found"):
            segment_spine(patient.ct)
        return
    result = segment_spine(patient.ct)
    assert result.named and set(level_naming(result.labels.voxels, patient.labels.voxels).values()) == {"right"}
    assert np.mean(list(_lumbosacral_dice(result, patient.labels.voxels).values())) >= 0.92


def _lumbosacral_dice(result, truth: np.ndarray) -> dict[int, float]:
    """Dice of S1 and L5-L1 against the phantom's truth."""
    vertebrae = np.where((truth >= label_id("vertebrae_S1")) & (truth <= label_id("vertebrae_L1")), truth, 0)
    return dice_per_label(result.labels.voxels, vertebrae)


def test_pedicle_screws_are_labelled_metal_and_their_vertebrae_keep_their_labels():
    """Phantom seed 0 at 1.5 mm with titanium screws in L4 and L5 and rods between them: under 0.5 %
    of the metal carries a bone label (issue 21's floor), the metal is labelled `metal` and listed,
    every vertebra is named right, and L4 and L5 keep Dice >= 0.92 around their screws."""
    patient = make_patient(0, spacing_mm=(1.5, 1.5, 1.5), screws=("L4", "L5"))
    result = segment_spine(patient.ct)
    predicted, truth = result.labels.voxels, patient.labels.voxels
    metal = truth == label_id("metal")
    bone_ids = [label.id for label in LABELS if label.category == "bone"]
    assert np.isin(predicted[metal], bone_ids).mean() < 0.005
    assert (predicted[metal] == label_id("metal")).mean() > 0.99 and result.implants == ["metal"]
    assert str(label_id("metal")) in result.sidecar()
    assert result.named and set(level_naming(predicted, truth).values()) == {"right"}
    dice = dice_per_label(predicted, np.where(np.isin(truth, [27, 28]), truth, 0))
    assert min(dice.values()) >= 0.92, dice


def test_a_40_degree_scoliosis_is_named_right():
    """A lumbar C-curve of 40 degrees (Cobb), convex to the left, with its axial rotation: every
    vertebra named right, mean Dice >= 0.92 (issue 21's floor for the phantom variations)."""
    patient = make_patient(0, spacing_mm=(1.5, 1.5, 1.5), scoliosis=40.0)
    result = segment_spine(patient.ct)
    truth = patient.labels.voxels
    assert result.named and set(level_naming(result.labels.voxels, truth).values()) == {"right"}
    vertebrae = np.where((truth >= label_id("vertebrae_S1")) & (truth <= label_id("vertebrae_L1")), truth, 0)
    dice = dice_per_label(result.labels.voxels, vertebrae)
    assert np.mean(list(dice.values())) >= 0.92, dice


def test_a_grade_2_isthmic_spondylolisthesis_is_named_right():
    """L5 slipped forward by 45 % of S1's endplate depth (Meyerding grade 2), its arch left behind at
    the pars defect: every vertebra named right, mean Dice >= 0.92. The loose arch touches bone only
    at its facet joints with S1 and is labelled S1 (L5's Dice about 0.86)."""
    patient = make_patient(0, spacing_mm=(1.5, 1.5, 1.5), spondylolisthesis="L5", slip_percent=45.0)
    result = segment_spine(patient.ct)
    assert result.named and set(level_naming(result.labels.voxels, patient.labels.voxels).values()) == {"right"}
    assert np.mean(list(_lumbosacral_dice(result, patient.labels.voxels).values())) >= 0.92


def test_osteophytes_bridging_two_discs_are_named_right():
    """Marginal osteophytes at every disc, fused into bony bridges across L2-L3 and L3-L4 (L2, L3 and
    L4 one piece of bone): every vertebra named right, mean Dice >= 0.92, and the bridged L3 >= 0.9."""
    patient = make_patient(0, spacing_mm=(1.5, 1.5, 1.5), osteophytes="bridging")
    result = segment_spine(patient.ct)
    assert result.named and set(level_naming(result.labels.voxels, patient.labels.voxels).values()) == {"right"}
    dice = _lumbosacral_dice(result, patient.labels.voxels)
    assert np.mean(list(dice.values())) >= 0.92 and dice[label_id("vertebrae_L3")] >= 0.9, dice


def test_5_mm_slices_are_named_right_with_a_warning():
    """Issue 21: slices up to 3 mm, and 5 mm degrading gracefully with a warning. Phantom seed 0 at
    0.8 x 0.8 x 5 mm: every vertebra named right, and the output warns about the thick slices."""
    patient = make_patient(0, spacing_mm=(0.8, 0.8, 5.0))
    result = segment_spine(patient.ct)
    assert result.named and set(level_naming(result.labels.voxels, patient.labels.voxels).values()) == {"right"}
    assert any(w.startswith("voxels up to 5 mm") for w in result.warnings), result.warnings

"""Naming the vertebrae from independent cues, from the user's hint, or not at all.

Bad input first, then each combination of cues (exact answers), then a seeded property: whatever the
cues, a level is named only from a strong cue that no other cue contradicts, or from a hint.
"""

import numpy as np
import pytest

from kambin.anatomy.identification import (
    SEQUENCE,
    Anchor,
    Evidence,
    hint_anchors,
    name_segments,
    parse_level_at,
)
from kambin.errors import InvalidInputError

NO_RIB = (False, False)


def _evidence(count, sacral=None, ribs=None, shape=False, whole=None):
    """`ribs`: {segment: (left, right)}; `whole`: segments at least 3/4 in view (default: all)."""
    rib_sides = tuple((ribs or {}).get(n, NO_RIB) for n in range(count))
    in_view = tuple(True for _ in range(count)) if whole is None else tuple(n in whole for n in range(count))
    return Evidence(sacral=sacral, sacrum_shape=shape, rib_sides=rib_sides, whole=in_view)


def test_bad_hints_are_refused_with_the_allowed_names():
    with pytest.raises(InvalidInputError, match="--lowest must be a vertebra name such as L5.*not 'L7'"):
        hint_anchors(_evidence(4), "L7", None)
    with pytest.raises(InvalidInputError, match="--highest cannot be applied: give --level-at"):
        hint_anchors(_evidence(3, whole=()), None, "L2")
    for text in ("1,2=L3", "1,2,3", "a,b,c=L3", "1,2,nan=L3", "1,2,3=L9"):
        with pytest.raises(InvalidInputError, match="--level-at"):
            parse_level_at(text)
    assert parse_level_at(" 0,12.5,-40 = L3") == ((0.0, 12.5, -40.0), "L3")


def test_hints_that_disagree_are_refused():
    with pytest.raises(InvalidInputError, match="name the vertebrae differently"):
        name_segments(_evidence(5), [Anchor(4, "L5", "--lowest L5"), Anchor(0, "L2", "--highest L2")])


def test_sacrum_and_ribs_that_agree_name_the_levels():
    # T12 L1 L2 L3 L4 L5 S1: ribs on segment 0, sacrum segment 6.
    naming = name_segments(_evidence(7, sacral=6, ribs={0: (True, True)}))
    assert naming.named and naming.names == ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
    assert "sacrum" in naming.identification and "ribs" in naming.identification and naming.confidence == 0.97


@pytest.mark.parametrize("lumbar", [4, 6])
def test_transitional_anatomy_is_left_unnamed_with_the_reason(lumbar):
    """Six lumbar-type vertebrae (or four: a sacralised L5, 11 rib pairs) between the last ribs and
    the sacrum: counting from either would name every level wrong for the other reading."""
    count = lumbar + 2
    naming = name_segments(_evidence(count, sacral=count - 1, ribs={0: (True, True)}))
    assert not naming.named and naming.confidence == 0.0
    assert naming.names == tuple(f"vertebra_{n}" for n in range(1, count + 1))
    assert "transitional anatomy" in naming.identification and "--level-at" in naming.identification


def test_one_strong_cue_names_and_says_which():
    from_sacrum = name_segments(_evidence(6, sacral=5))
    assert from_sacrum.names == ("L1", "L2", "L3", "L4", "L5", "S1")
    assert from_sacrum.identification.startswith("sacrum in view") and "no ribs" in from_sacrum.identification
    from_ribs = name_segments(_evidence(4, ribs={1: (True, True), 0: (True, True)}))
    assert (
        from_ribs.names == ("T11", "T12", "L1", "L2") and "last ribs in view (both sides)" in from_ribs.identification
    )


def test_weak_cues_alone_leave_the_levels_unnamed():
    one_rib = name_segments(_evidence(4, ribs={0: (True, False)}))
    shape = name_segments(_evidence(4, shape=True))
    nothing = name_segments(_evidence(4))
    assert not (one_rib.named or shape.named or nothing.named)
    assert "one side only" in one_rib.identification
    assert "looks sacral" in shape.identification
    assert "neither the sacrum" in nothing.identification and "vertebra_4" in nothing.identification


def test_two_weak_cues_that_agree_name_the_levels():
    naming = name_segments(_evidence(7, ribs={0: (True, False)}, shape=True))
    assert naming.named and naming.names[0] == "T12" and naming.names[-1] == "S1"
    assert not name_segments(_evidence(8, ribs={0: (True, False)}, shape=True)).named


def test_a_hint_is_obeyed_exactly_even_against_the_cues():
    """--lowest names the lowest segment in view, the sacrum included (a CT showing it has --lowest S1);
    where a cue says otherwise the hint still wins and a warning says so."""
    evidence = _evidence(6, sacral=5)
    lowest_s1 = name_segments(evidence, hint_anchors(evidence, "S1", None))
    assert lowest_s1.names == ("L1", "L2", "L3", "L4", "L5", "S1") and not lowest_s1.warnings
    lowest_l5 = name_segments(evidence, hint_anchors(evidence, "L5", None))
    assert lowest_l5.names == ("T12", "L1", "L2", "L3", "L4", "L5")
    assert lowest_l5.identification == "user hint --lowest L5"
    assert any("disagrees with the sacrum" in w for w in lowest_l5.warnings)
    at = name_segments(evidence, [Anchor(2, "L3", "--level-at L3")])
    assert at.names == ("L1", "L2", "L3", "L4", "L5", "S1") and at.identification == "user hint --level-at L3"


def test_highest_hint_uses_the_highest_segment_in_view():
    evidence = _evidence(5, whole={1, 2, 3})
    naming = name_segments(evidence, hint_anchors(evidence, None, "L1"))
    assert naming.names == ("T12", "L1", "L2", "L3", "L4")


def test_property_no_level_is_named_without_a_strong_uncontradicted_cue():
    """Seeded random evidence: whenever the levels are named without a hint, the sacral segment (if
    any) is S1, the last rib-bearing segment above it is T12, and at least one of them is strong."""
    rng = np.random.default_rng(0)
    named = 0
    for _ in range(2000):
        count = int(rng.integers(2, 12))
        sacral = int(count - 1 - rng.integers(0, 2)) if rng.random() < 0.5 else None
        ribs = {int(n): (bool(rng.random() < 0.5), bool(rng.random() < 0.5)) for n in rng.integers(0, count, 2)}
        evidence = _evidence(count, sacral=sacral, ribs=ribs, shape=bool(rng.random() < 0.3))
        naming = name_segments(evidence)
        if not naming.named:
            assert naming.names == tuple(f"vertebra_{n}" for n in range(1, count + 1))
            continue
        named += 1
        assert all(name is None or name in SEQUENCE for name in naming.names)
        if sacral is not None:
            assert naming.names[sacral] == "S1"
        above = count if sacral is None else sacral
        ribbed = [n for n in range(above) if any(evidence.rib_sides[n])]
        if ribbed:
            assert naming.names[max(ribbed)] == "T12"
        strong = sacral is not None or (ribbed and all(evidence.rib_sides[max(ribbed)]))
        assert strong or (ribbed and evidence.sacrum_shape), evidence
    assert named > 200  # the property was exercised on named cases too


def test_a_count_that_cannot_be_trusted_names_nothing_from_the_cues_and_warns_under_a_hint():
    evidence = Evidence(
        sacral=5,
        sacrum_shape=False,
        rib_sides=((True, True),) + (NO_RIB,) * 5,
        whole=(True,) * 6,
        suspect="segment 3 (cranial first) is 70 mm tall",
    )
    naming = name_segments(evidence)
    assert not naming.named and "70 mm tall" in naming.identification
    hinted = name_segments(evidence, hint_anchors(evidence, "S1", None))
    assert hinted.named and hinted.names[-1] == "S1" and any("70 mm tall" in w for w in hinted.warnings)


def test_level_naming_judges_each_labelled_vertebra_by_its_best_overlap():
    from kambin.anatomy.metrics import level_naming

    truth = np.zeros((4, 4, 8), np.uint8)
    truth[:, :, 0:3], truth[:, :, 3:6] = 29, 28  # L3, L4
    predicted = np.zeros_like(truth)
    predicted[:, :, 0:3] = 29  # right
    predicted[:, :, 3:5] = 27  # L5 painted on L4: wrong
    predicted[:, :, 5:8] = 162  # vertebra_2: unnamed
    predicted[0, 0, 6:8] = 0
    outcome = level_naming(predicted, truth)
    assert outcome == {27: "wrong", 29: "right", 162: "unnamed"}
    predicted[:, :, 6:8] = 26  # S1 on no truth vertebra
    assert level_naming(predicted, truth)[26] == "unscored"

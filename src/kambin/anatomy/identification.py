"""Name the vertebrae found along the column from independent cues, from the user's hint, or not at all.

Counting from a landmark is how a radiologist names lumbar levels and how classical CT methods do
it (Klinder et al., Med Image Anal 13(3), 2009, identify by the sacrum or the ribs, then count).
Two cues, each counted from on its own and checked against the other where both are in view:
- the sacrum: the segment that meets both ilia at the sacroiliac joints (`anatomy.pelvis`) is S1.
  A lowest segment that only looks sacral (long, or touching lateral bone) without those joints is
  a weak cue: it never names the levels alone, only confirms the ribs' count;
- the last ribs: thin bones reaching far laterally whose heads lie against a vertebra; the lowest
  vertebra with ribs is T12. Ribs on both sides name the levels; a rib on one side only confirms.
Transitional anatomy (6 lumbar vertebrae, a sacralised L5, 11 or 13 rib pairs; about one person in
eight: Konin & Walz, AJNR 31(10), 2010) makes the two counts disagree, and wrong-level surgery
follows from trusting either. So where they disagree, or where no cue strong enough is in view, the
vertebrae are left unnamed (`vertebra_1` cranial-most, counting down) with the reason, and a level
cannot be planned until the user names one. A user's hint is obeyed exactly: it names the segment it
points at, whatever the cues say (a disagreement is reported as a warning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.labels import MAX_UNNAMED_VERTEBRAE, UPPER_VERTEBRAE, VERTEBRAE, unnamed_vertebra_name
from kambin.errors import InvalidInputError

#: Every vertebra the registry names, cranial first (S1 stands for the sacrum's top segment).
SEQUENCE = UPPER_VERTEBRAE + VERTEBRAE
SACRUM_MIN_DROP_MM = 45.0  # sacral bone reaches this far below its top disc (L5 about 35)
RIB_MIN_REACH_MM = 60.0  # a rib reaches this far from the midline (transverse processes less)
RIB_HEAD_MAX_GAP_MM = 8.0


@dataclass(frozen=True)
class Evidence:
    """What the image shows for naming, per segment of the column (0-based, cranial first).

    Attributes:
        sacral: the segment that meets both ilia at the sacroiliac joints, or None.
        sacrum_shape: the lowest segment looks sacral (long, or touching lateral bone on both
            sides) though no sacroiliac joints were found: a weak cue.
        rib_sides: per segment, is a rib's head next to it on the (left, right).
        whole: per segment, is at least three quarters of it in view (`segmentation._in_view`).
        suspect: why the count along the column cannot be trusted ("" if it can): then the cues
            name nothing, and a hint is obeyed with a warning.
    """

    sacral: int | None
    sacrum_shape: bool
    rib_sides: tuple[tuple[bool, bool], ...]
    whole: tuple[bool, ...]
    suspect: str = ""


@dataclass(frozen=True)
class Anchor:
    """A user's hint resolved to a segment: `segment` (0-based, cranial first) is `name`."""

    segment: int
    name: str
    hint: str  # as the user gave it, e.g. "--lowest L5"


def check_vertebra_name(option: str, value: str) -> str:
    """The hint's vertebra name, or InvalidInputError saying which names are allowed."""
    if value not in SEQUENCE:
        raise InvalidInputError(
            f"{option} must be a vertebra name such as L5, T12 or S1 ({', '.join(SEQUENCE)}), not {value!r}"
        )
    return value


def parse_level_at(text: str) -> tuple[tuple[float, float, float], str]:
    """`X,Y,Z=NAME` (a point in patient LPS mm inside a vertebra, and its name) -> ((x, y, z), name)."""
    point, sep, name = text.partition("=")
    parts = point.split(",")
    try:
        xyz = tuple(float(p) for p in parts)
    except ValueError:
        xyz = ()
    if not sep or len(xyz) != 3 or not all(np.isfinite(xyz)):
        raise InvalidInputError(
            f"--level-at must be X,Y,Z=NAME (a point in LPS mm inside the vertebra, e.g. 0,12.5,-40=L3), not {text!r}"
        )
    return xyz, check_vertebra_name("--level-at", name.strip())  # type: ignore[return-value]


def hint_anchors(evidence: Evidence, lowest: str | None, highest: str | None) -> list[Anchor]:
    """`--lowest` / `--highest` as anchors: the lowest / highest segment of the column at least three
    quarters in view is that vertebra (the sacrum counts as S1: a CT showing it has --lowest S1)."""
    whole = [n for n, w in enumerate(evidence.whole) if w]
    anchors = []
    for option, value, pick in (("--lowest", lowest, -1), ("--highest", highest, 0)):
        if value is None:
            continue
        check_vertebra_name(option, value)
        if not whole:
            raise InvalidInputError(
                "no vertebra is in view over three quarters of its height (each is cut by the crop); "
                f"{option} cannot be applied: give --level-at X,Y,Z=NAME with a point inside one vertebra"
            )
        anchors.append(Anchor(whole[pick], value, f"{option} {value}"))
    return anchors


def has_sacrum(labels: np.ndarray, other: np.ndarray, segment: int, disc_z: float, x_mid: np.ndarray) -> bool:
    """True if the lowest segment looks sacral.

    Either its bone reaches SACRUM_MIN_DROP_MM below its top disc, or it is joined on both sides,
    to bone cut off as lateral (the ilia at the sacro-iliac joints).
    """
    mask = labels == segment
    zs = np.flatnonzero(mask.any(axis=(0, 1)))
    if zs.size == 0:
        return False
    if disc_z - zs.min() >= SACRUM_MIN_DROP_MM:
        return True
    z0, z1 = int(zs.min()), int(max(zs.min() + 1, disc_z))
    near = ndi.binary_dilation(mask[:, :, z0:z1], iterations=2) & other[:, :, z0:z1]
    if not near.any():
        return False
    points = np.argwhere(near)
    lateral = points[:, 0] - x_mid[points[:, 2] + z0]
    return bool((lateral > 25).sum() > 20 and (lateral < -25).sum() > 20)


def rib_sides(
    labels: np.ndarray, other: np.ndarray, bone: np.ndarray, x_mid: np.ndarray, count: int
) -> list[tuple[bool, bool]]:
    """Per segment 1..count: is a rib's head next to it on the left (+x) and right (-x) side?

    A rib is a component of bone outside the vertebrae that reaches RIB_MIN_REACH_MM from the
    midline and has its most medial point within RIB_HEAD_MAX_GAP_MM of a vertebra, lateral to
    the body's midline by at least 10 mm. Components over 60 cm^3 (an ilium) are not ribs, and
    neither is one cut by the field of view's top or bottom slice: its shape is not all in view, and
    an iliac wing cut by a lumbar crop's lower edge has a rib's reach and touches L5 (a phantom crop
    to L5-S1 found "ribs" on both sides of its lowest segment so).
    """
    result = [[False, False] for _ in range(count)]
    candidates = (bone | other) & (labels == 0)
    pieces, n = ndi.label(candidates)
    if n == 0:
        return [tuple(r) for r in result]
    boxes = ndi.find_objects(pieces)
    reach = int(np.ceil(RIB_HEAD_MAX_GAP_MM)) + 1
    for k, box in enumerate(boxes, start=1):
        if box is None:
            continue
        mask = pieces[box] == k
        volume = int(mask.sum())
        if volume < 300 or volume > 60000:
            continue
        if box[2].start == 0 or box[2].stop == labels.shape[2]:
            continue
        points = np.argwhere(mask) + np.array([b.start for b in box])
        lateral = points[:, 0] - x_mid[points[:, 2]]
        if np.abs(lateral).max() < RIB_MIN_REACH_MM or np.ptp(np.sign(lateral)) > 0:
            continue
        # Distances to the nearest vertebra within the piece's box widened by the largest gap that
        # counts: exact up to that gap (anything nearer lies inside), and a fraction of one
        # transform over the whole grid.
        near = tuple(slice(max(0, b.start - reach), b.stop + reach) for b in box)
        if not labels[near].any():
            continue
        corner = np.array([b.start for b in near])
        distance, index = ndi.distance_transform_edt(labels[near] == 0, return_indices=True)
        local = tuple((points - corner).T)
        gaps = distance[local]
        head = int(np.argmin(gaps))
        if gaps[head] > RIB_HEAD_MAX_GAP_MM or abs(lateral[head]) < 10:
            continue
        target = tuple(index[(slice(None), *(points[head] - corner))] + corner)
        segment = int(labels[target])
        if 1 <= segment <= count:
            result[segment - 1][0 if lateral[head] > 0 else 1] = True
    return [tuple(r) for r in result]


@dataclass(frozen=True)
class Naming:
    """Names per segment (cranial first) and how they were found.

    `names` are vertebra names ("L4", "S1"; None beyond the registry's range, not labelled) when
    `named`, else `vertebra_1` .. `vertebra_n`; `identification` says which cue or hint named them, or
    why they were not named.
    """

    names: tuple[str | None, ...]
    identification: str
    confidence: float
    warnings: tuple[str, ...]
    named: bool = True


def _names_from(anchor_segment: int, anchor_name: str, count: int) -> list[str | None]:
    start = SEQUENCE.index(anchor_name) - anchor_segment
    return [SEQUENCE[start + n] if 0 <= start + n < len(SEQUENCE) else None for n in range(count)]


def _unnamed(count: int, why: str) -> Naming:
    names = tuple(unnamed_vertebra_name(n + 1) for n in range(count))
    return Naming(names, f"not named: {why}", 0.0, (), named=False)


def name_segments(evidence: Evidence, anchors: list[Anchor] | tuple[Anchor, ...] = ()) -> Naming:
    """Names per segment from the user's anchors, else from the cues, else unnamed with the reason.

    Raises InvalidInputError if the anchors disagree with each other.
    """
    count = len(evidence.whole)
    if count > MAX_UNNAMED_VERTEBRAE:
        raise InvalidInputError(
            f"{count} segments found along the column; at most {MAX_UNNAMED_VERTEBRAE} are labelled"
        )
    sacral = evidence.sacral
    from_sacrum = _names_from(sacral, "S1", count) if sacral is not None else None
    above_sacrum = count if sacral is None else sacral
    rib_segments = [n for n, sides in enumerate(evidence.rib_sides[:above_sacrum]) if any(sides)]
    from_ribs, rib_both = None, False
    if rib_segments:
        last = max(rib_segments)
        rib_both = all(evidence.rib_sides[last])
        from_ribs = _names_from(last, "T12", count)
    from_shape = _names_from(count - 1, "S1", count) if evidence.sacrum_shape and sacral is None else None

    if anchors:
        names = _names_from(anchors[0].segment, anchors[0].name, count)
        for anchor in anchors[1:]:
            if _names_from(anchor.segment, anchor.name, count) != names:
                raise InvalidInputError(
                    f"the hints {anchors[0].hint} and {anchor.hint} name the vertebrae differently "
                    f"({count} segments in view); give one hint, or hints that agree"
                )
        warnings = [f"{evidence.suspect}: check the level picture"] if evidence.suspect else []
        warnings += [
            f"the hint disagrees with {cue} (transitional anatomy, or a hint off by a level?); the hint was used: "
            "check the level picture"
            for cue, derived in (("the sacrum in view", from_sacrum), ("the last ribs in view", from_ribs))
            if derived is not None and derived != names
        ]
        return Naming(tuple(names), "user hint " + " and ".join(a.hint for a in anchors), 0.9, tuple(warnings))
    if evidence.suspect:
        return _unnamed(count, f"{evidence.suspect}; name one vertebra with --lowest, --highest or --level-at")

    if from_sacrum is not None and from_ribs is not None:
        if from_sacrum == from_ribs:
            return Naming(
                tuple(from_sacrum), "sacrum (sacroiliac joints) and last ribs in view, counts agree", 0.97, ()
            )
        ribbed_from_sacrum = from_sacrum[max(rib_segments)] or "one above C1"
        return _unnamed(
            count,
            f"counting up from the sacrum names the last rib-bearing vertebra {ribbed_from_sacrum}, "
            "not T12 (transitional anatomy: 6 lumbar vertebrae, a sacralised L5, or 11 or 13 rib pairs); "
            "name one vertebra with --lowest, --highest or --level-at",
        )
    if from_sacrum is not None:
        return Naming(
            tuple(from_sacrum),
            "sacrum in view (sacroiliac joints with both ilia); no ribs in view to check the count",
            0.9,
            (),
        )
    if from_ribs is not None and from_shape is not None:
        if from_ribs == from_shape:
            return Naming(
                tuple(from_ribs), "last ribs and a sacral-looking lowest segment in view, counts agree", 0.85, ()
            )
        return _unnamed(
            count,
            "the last ribs and the sacral-looking lowest segment give different counts (transitional anatomy?); "
            "name one vertebra with --lowest, --highest or --level-at",
        )
    if from_ribs is not None and rib_both:
        return Naming(
            tuple(from_ribs), "last ribs in view (both sides); the sacrum is not in view to check the count", 0.85, ()
        )
    if from_ribs is not None:
        why = "a last rib was found on one side only"
    elif from_shape is not None:
        why = "the lowest segment looks sacral, but no sacroiliac joints with both ilia were found"
    else:
        why = "neither the sacrum (its joints with both ilia) nor the last ribs are in view"
    return _unnamed(
        count,
        f"{why}; {count} vertebrae labelled vertebra_1 (cranial) to vertebra_{count}: name one with --lowest, "
        "--highest or --level-at X,Y,Z=NAME",
    )

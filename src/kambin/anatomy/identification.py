"""Name the vertebrae found along the column: from the sacrum, from the last ribs, or from a hint.

Counting from a landmark is how a radiologist names lumbar levels and how classical CT methods do
it (Klinder et al., Med Image Anal 13(3), 2009, identify by the sacrum or the ribs, then count).
The sacrum is the segment that meets both ilia at the sacroiliac joints (`anatomy.pelvis`), or,
with no ilia in view, the lowest segment when it is long (its bone reaches far below the last
disc); the vertebra above it is L5. The last ribs are thin bones reaching far laterally
whose heads lie against a vertebra; the lowest such vertebra is T12. A crop that shows neither
cannot be named from the image alone, and the user's hint (the lowest or highest vertebra in view,
at least three quarters of it) is required.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.labels import UPPER_VERTEBRAE, VERTEBRAE
from kambin.errors import InvalidInputError

#: Every vertebra the registry names, cranial first (S1 stands for the sacrum's top segment).
SEQUENCE = UPPER_VERTEBRAE + VERTEBRAE
SACRUM_MIN_DROP_MM = 45.0  # sacral bone reaches this far below its top disc (L5 about 35)
RIB_MIN_REACH_MM = 60.0  # a rib reaches this far from the midline (transverse processes less)
RIB_HEAD_MAX_GAP_MM = 8.0


@dataclass(frozen=True)
class Evidence:
    """What the image shows for naming: a sacrum at the bottom, ribs per segment (left, right)."""

    sacrum: bool
    rib_sides: tuple[tuple[bool, bool], ...]  # per segment, cranial first
    whole: tuple[bool, ...]  # per segment: bounded by a disc above and below


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
    the body's midline by at least 10 mm. Components over 60 cm^3 (an ilium) are not ribs.
    """
    result = [[False, False] for _ in range(count)]
    candidates = (bone | other) & (labels == 0)
    pieces, n = ndi.label(candidates)
    if n == 0:
        return [tuple(r) for r in result]
    near_distance, near_index = ndi.distance_transform_edt(labels == 0, return_indices=True)
    boxes = ndi.find_objects(pieces)
    for k, box in enumerate(boxes, start=1):
        if box is None:
            continue
        mask = pieces[box] == k
        volume = int(mask.sum())
        if volume < 300 or volume > 60000:
            continue
        points = np.argwhere(mask) + np.array([b.start for b in box])
        lateral = points[:, 0] - x_mid[points[:, 2]]
        if np.abs(lateral).max() < RIB_MIN_REACH_MM or np.ptp(np.sign(lateral)) > 0:
            continue
        gaps = near_distance[tuple(points.T)]
        head = int(np.argmin(gaps))
        if gaps[head] > RIB_HEAD_MAX_GAP_MM or abs(lateral[head]) < 10:
            continue
        target = tuple(near_index[:, points[head, 0], points[head, 1], points[head, 2]])
        segment = int(labels[target])
        if 1 <= segment <= count:
            result[segment - 1][0 if lateral[head] > 0 else 1] = True
    return [tuple(r) for r in result]


@dataclass(frozen=True)
class Naming:
    names: tuple[str | None, ...]  # per segment, cranial first; None: not named (not labelled)
    identification: str
    confidence: float
    warnings: tuple[str, ...]


def _names_from(anchor_segment: int, anchor_name: str, count: int) -> list[str | None]:
    start = SEQUENCE.index(anchor_name) - anchor_segment
    return [SEQUENCE[start + n] if 0 <= start + n < len(SEQUENCE) else None for n in range(count)]


def name_segments(evidence: Evidence, lowest: str | None, highest: str | None) -> Naming:
    """Names per segment from the hint or the evidence; raises InvalidInputError if none applies."""
    count = len(evidence.whole)
    warnings: list[str] = []
    vertebrae_count = count - (1 if evidence.sacrum else 0)
    from_sacrum = _names_from(count - 1, "S1", count) if evidence.sacrum else None
    rib_segments = [n for n, sides in enumerate(evidence.rib_sides[:vertebrae_count]) if any(sides)]
    from_ribs = None
    rib_both = False
    if rib_segments:
        t12 = max(rib_segments)
        rib_both = all(evidence.rib_sides[t12])
        from_ribs = _names_from(t12, "T12", count)
    if lowest is not None or highest is not None:
        for option, value in (("--lowest", lowest), ("--highest", highest)):
            if value is not None and value not in SEQUENCE:
                raise InvalidInputError(
                    f"{option} must be a vertebra name such as L5, T12 or S1 ({', '.join(SEQUENCE)}), not {value!r}"
                )
        whole = [n for n in range(vertebrae_count) if evidence.whole[n]]
        if not whole:
            raise InvalidInputError(
                "no vertebra is in view over three quarters of its height (each is cut by the crop); "
                "the hint cannot be applied"
            )
        if lowest is not None:
            names = _names_from(whole[-1], lowest, count)
            how = f"user hint --lowest {lowest}"
        else:
            names = _names_from(whole[0], highest, count)
            how = f"user hint --highest {highest}"
        if highest is not None and lowest is not None and _names_from(whole[0], highest, count) != names:
            raise InvalidInputError(
                f"--lowest {lowest} and --highest {highest} disagree: {len(whole)} vertebrae are in view"
            )
        for evidence_name, derived in (("the sacrum", from_sacrum), ("the last ribs", from_ribs)):
            if derived is not None and derived[:vertebrae_count] != names[:vertebrae_count]:
                warnings.append(
                    f"the hint disagrees with {evidence_name} in view (transitional anatomy?); the hint was used"
                )
        return Naming(tuple(names), how, 0.9, tuple(warnings))
    if from_sacrum is not None and from_ribs is not None:
        if from_sacrum == from_ribs:
            return Naming(tuple(from_sacrum), "sacrum and last ribs in view, counts agree", 0.97, ())
        warnings.append(
            "counting from the sacrum and from the last ribs disagree (transitional anatomy: "
            "6 lumbar vertebrae, a sacralised L5 or a lumbar rib?); named from the sacrum"
        )
        return Naming(tuple(from_sacrum), "sacrum in view (ribs disagree)", 0.6, tuple(warnings))
    if from_sacrum is not None:
        return Naming(tuple(from_sacrum), "sacrum in view", 0.9, ())
    if from_ribs is not None:
        confidence = 0.85 if rib_both else 0.7
        return Naming(
            tuple(from_ribs), f"last ribs in view ({'both sides' if rib_both else 'one side'})", confidence, ()
        )
    raise InvalidInputError(
        f"{vertebrae_count} vertebrae found but neither the sacrum nor the last ribs are in view, so they "
        "cannot be named from the image; give --lowest NAME or --highest NAME (the lowest or highest "
        "vertebra in view, at least three quarters of it, e.g. --lowest L5)"
    )

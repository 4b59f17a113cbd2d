"""The pelvis next to the lumbar spine: which column segment is the sacrum, and the two hip bones.

The sacrum is told by what it joins, not by its size: it is the highest segment of the column
that meets both ilia at the sacroiliac joints (the auricular surfaces of S1-S3; Standring, Gray's
Anatomy, 41st ed., ch. 72). A lumbar vertebra, even a large L5, stays clear of the ilia (the
iliolumbar ligament spans the gap). Segments of the column below the sacrum's top (S2-S5, cut
apart by a remnant S1-S2 disc or by the dark sacral foramina) belong to the sacrum.

The ilia are found as the large bone components cut off from the column as lateral ("other")
bone by the split, grown in the full working grid so that the whole wing and its crest are
kept, and named by side: LPS +x is the patient's left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import connected_pieces, label_boxes
from kambin.anatomy.labels import label_id
from kambin.imaging.volume import Volume

#: An ilium within the crop (wing, body, the sacroiliac part) is well over this volume (mm^3); a
#: rib's segment within the same crop is 10-30 cm^3 and a transverse process a few cm^3.
ILIUM_MIN_VOLUME_MM3 = 40_000.0
#: Contact: bone of a segment within this distance (voxels) of an ilium, on each side ...
CONTACT_REACH_VOXELS = 2
#: ... and lateral to the midline by this much (mm): the sacroiliac joints lie 30-60 mm from it.
CONTACT_MIN_LATERAL_MM = 20.0
#: ... over at least this many voxels per side (a joint surface is several cm^2).
CONTACT_MIN_VOXELS = 30
#: A segment above the one with the most joint contact is sacral too if its contact is at least
#: this fraction of that: S1 carries about a third of the auricular surface (S1-S3), but a remnant
#: S1-S2 disc and the split leave it a tenth of the contact or more (measured on phantoms: 13 %),
#: while a lumbar vertebra near a high crest touches over 1-2 % of it.
SHARED_JOINT_FRACTION = 0.1
#: The sacrum's contact with each ilium (the segment found and the sacral segments below it) spans
#: at least this height (mm, cranio-caudal). The auricular surface runs over S1-S3, 50-60 mm tall
#: (Standring, Gray's Anatomy, 41st ed., ch. 72; measured: 46-84 mm per side on TotalSegmentator's
#: example CT and phantoms 0, 2, 3, 5), while a lumbar transverse process that meets an iliac crest
#: touches it over a few millimetres (phantoms 3 and 5 with a high crest: 2-3 mm). Half the surface's
#: height, so that a pelvis cut by the field of view below S2 still counts.
SI_JOINT_MIN_HEIGHT_MM = 25.0


def iliac_components(other: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Label map (0 none) of the large lateral bone components (the ilia), from the `other` mask."""
    pieces, count = ndi.label(other)
    if count == 0:
        return pieces
    volumes = ndi.sum(other, pieces, index=np.arange(1, count + 1)) * spacing_mm**3
    keep = np.zeros(count + 1, dtype=bool)
    keep[1:] = volumes >= ILIUM_MIN_VOLUME_MM3
    return np.where(keep[pieces], pieces, 0)


@dataclass(frozen=True)
class SacroiliacContact:
    """The sacrum's top segment (1-based, cranial first) and the top of its joints with the ilia
    (`top_z`: the highest contact voxel's index along the working grid's z, superior up)."""

    segment: int
    top_z: int


def sacral_segment(
    labels: np.ndarray, ilia: np.ndarray, count: int, x_mid: np.ndarray, spacing_mm: float
) -> SacroiliacContact | None:
    """The sacrum's top segment and its joints' top, or None if no segment meets both ilia.

    The segment with the largest two-sided contact with the ilia (the sacroiliac joints), and
    above it any segment sharing that joint; None unless the contact of that segment and those
    below it spans SI_JOINT_MIN_HEIGHT_MM on each side (a joint, not a crest touching a process).
    """
    if not ilia.any():
        return None
    near_ilium = ndi.binary_dilation(ilia > 0, iterations=CONTACT_REACH_VOXELS)
    contact = np.argwhere(near_ilium & (labels > 0))
    if contact.size == 0:
        return None
    segment = labels[tuple(contact.T)]
    lateral_mm = (contact[:, 0] - x_mid[contact[:, 2]]) * spacing_mm
    both = np.zeros(count + 1)
    for n in range(1, count + 1):
        on = segment == n
        left = int((on & (lateral_mm > CONTACT_MIN_LATERAL_MM)).sum())
        right = int((on & (lateral_mm < -CONTACT_MIN_LATERAL_MM)).sum())
        both[n] = min(left, right)
    best = int(np.argmax(both))
    if both[best] < CONTACT_MIN_VOXELS:
        return None
    for side in (lateral_mm > CONTACT_MIN_LATERAL_MM, lateral_mm < -CONTACT_MIN_LATERAL_MM):
        heights = contact[side & (segment >= best), 2]
        if heights.size == 0 or (np.ptp(heights) + 1) * spacing_mm < SI_JOINT_MIN_HEIGHT_MM:
            return None
    # Walk up through segments that share the joint (S1 cut off from S2 by a remnant disc); a
    # lumbar vertebra near a high iliac crest touches the ilium over a few voxels, not a joint.
    while best > 1 and both[best - 1] >= SHARED_JOINT_FRACTION * both[best]:
        best -= 1
    lateral = np.abs(lateral_mm) > CONTACT_MIN_LATERAL_MM
    return SacroiliacContact(best, int(contact[lateral & (segment >= best), 2].max()))


def hip_bones(
    bone_full: np.ndarray, vertebrae_full: np.ndarray, ilia_crop: np.ndarray, box: tuple[slice, ...], x_mid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Left and right hip-bone masks on the full working grid.

    The bone not given to a vertebra is split into connected components on the full grid; those
    that overlap an ilium found in the crop `box` are hip bone, on the side of the midline where
    most of their voxels lie (+x: left).
    """
    free = bone_full & (vertebrae_full == 0)
    pieces = connected_pieces(free, neighbours=6)
    count = int(pieces.max())
    left = np.zeros(bone_full.shape, dtype=bool)
    right = np.zeros(bone_full.shape, dtype=bool)
    if count == 0 or not ilia_crop.any():
        return left, right
    seeds = np.unique(pieces[box][ilia_crop > 0])
    for k, piece_box in enumerate(label_boxes(pieces), start=1):
        if piece_box is None or k not in seeds:
            continue
        mask = pieces[piece_box] == k
        points = np.argwhere(mask) + np.array([b.start for b in piece_box])
        side = np.median(points[:, 0] - x_mid[points[:, 2]])
        target = left if side > 0 else right
        target[piece_box] |= mask
    return left, right


def iliac_crest_tops_lps_mm(labels: Volume) -> dict[str, np.ndarray]:
    """Highest point (LPS, mm) of each hip bone in a registry label map: the iliac crest's top.

    Per side present, the centroid of the hip bone's voxels in its most superior millimetre
    (largest LPS z), so that the answer does not depend on which of a row of voxels is taken.
    """
    tops: dict[str, np.ndarray] = {}
    for side in ("left", "right"):
        ijk = np.argwhere(labels.voxels == label_id(f"hip_{side}"))
        if ijk.size == 0:
            continue
        lps = labels.ijk_to_lps(ijk.astype(float))
        top = lps[:, 2] >= lps[:, 2].max() - 1.0
        tops[side] = lps[top].mean(axis=0)
    return tops

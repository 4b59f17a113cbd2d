"""Ribs cut off the thoracic vertebrae they touch: the split labels bone by connection, and where
3 mm slices blur the costovertebral joints a rib's head and neck stay joined to its vertebra; once
the levels are named, the bone of a thoracic segment beyond its transverse processes, and the rib
heads beside its body, are taken off."""

from __future__ import annotations

import numpy as np

from kambin.anatomy.bone import WORKING_SPACING_MM
from kambin.anatomy.identification import Evidence, Naming

#: Bone of a segment named thoracic farther than this from the midline is rib, not vertebra: the
#: rib's head lies against the body, its neck runs in front of the transverse process to the
#: tubercle at the process's tip (costotransverse joint), and the lower thoracic transverse
#: processes end about 25-35 mm from the midline (Standring, Gray's Anatomy; VerSe sub-verse007's
#: expert masks of T9-T12: 99th percentile 24-29 mm, farthest 28-34 mm), well inside
#: `vertebra_split.OTHER_BONE_FROM_MIDLINE_MM`, which is set for the lumbar transverse processes and
#: the sacral ala (and which a crop of the field of view to +-50 mm, as sub-verse007's, never
#: reaches). Expert masks leave the ribs out. sub-verse007 T12 / T11 / T10 / T9 Dice, no cut: 0.798
#: / 0.820 / 0.784 / 0.758; 30 mm: 0.832 / 0.850 / 0.813 / 0.779; 27 mm: 0.843 / 0.854 / 0.817 /
#: 0.778; 24 mm: 0.853 / 0.858 / 0.817 / 0.776 (the transverse processes' tips lost). What stays is
#: the rib's head and neck, joined to the body where 3 mm slices blur the costovertebral joint.
#: Untested above T9: the upper thoracic transverse processes reach farther and lose their tips.
#: The cut follows the naming rather than changing the split's own "other" marker
#: (`vertebra_split.OTHER_BONE_FROM_MIDLINE_MM`), because that marker, moved in, floods the
#: transverse processes and laminae from the ribs: seeding ribs from 30 mm in the split gave T12
#: 0.854 but T10 0.718 and T9 0.725; the marker at 36 / 40 mm, VerSe mean 0.803 / 0.805 (against
#: 0.818 with this cut).
RIB_FROM_MIDLINE_MM = 27.0


#: Rib heads and necks (`cut_rib_heads`): bone more than RIB_HEAD_MARGIN_MM beyond the body's
#: half-width, and less than RIB_NECK_BEHIND_WALL_MM behind its posterior wall: in front of the
#: transverse process, which begins about a lower thoracic pedicle's length (10-15 mm) behind the
#: wall. sub-verse007 mean Dice of its seven vertebrae (T9 / T10 / T11 / T12), no cut: 0.837;
#: margin 4 mm, 8 / 12 / 16 mm behind: 0.839 / 0.841 / 0.842; margin 2 mm, 8 / 12 / 16 / 20 / 24
#: mm: 0.841 / 0.843 / 0.845 (0.816 / 0.852 / 0.884 / 0.861) / 0.844 / 0.842; margin 6 mm, 16 mm:
#: 0.840. The lumbar segments and the phantoms (lumbar) are untouched.
RIB_HEAD_MARGIN_MM = 2.0


RIB_NECK_BEHIND_WALL_MM = 16.0


#: Where a thoracic body's half-width is measured (`cut_rib_heads`): this far in front of the
#: column's centre line (mm, nearest and farthest), in the body's anterior half, where no rib attaches.
BODY_FRONT_BAND_MM = (3.0, 10.0)


#: Half-width (mm) of the midline strip along which a thoracic body's posterior wall is found.
WALL_STRIP_HALF_WIDTH_MM = 2.0


MIN_RIB_HEAD_ROWS = 5  # axial rows of a segment that measure its body, at least


def thoracic_segments(naming: Naming, evidence: Evidence) -> list[int]:
    """Segment numbers (1-based) whose ribs are cut: those named thoracic, or, unnamed, those at and
    above the lowest one a rib meets."""
    if naming.named:
        return [n + 1 for n, name in enumerate(naming.names) if name is not None and name.startswith("T")]
    ribbed = [n for n, sides in enumerate(evidence.rib_sides) if any(sides)]
    return list(range(1, max(ribbed) + 2)) if ribbed else []


def cut_ribs(labels: np.ndarray, thoracic: list[int], x_of_z: np.ndarray) -> None:
    """Unlabel, in place, the bone of thoracic segments farther than RIB_FROM_MIDLINE_MM from the
    column's centre line x(z) (`labels`: segment numbers, cranial first; `thoracic`: segment numbers;
    `x_of_z`: on the crop), which follows a scoliotic spine where the body's midline does not."""
    if not thoracic:
        return
    distance = np.abs(np.arange(labels.shape[0])[:, None, None] - x_of_z[None, None, :])
    labels[np.isin(labels, thoracic) & (distance > RIB_FROM_MIDLINE_MM)] = 0


def cut_rib_heads(labels: np.ndarray, thoracic: list[int], x_of_z: np.ndarray, y_of_z: np.ndarray) -> None:
    """Unlabel, in place, the rib heads and necks left beside the bodies of thoracic segments.

    A thoracic vertebra has no bone lateral to its body in front of its transverse processes: the
    rib's head sits against the body's posterolateral corner (the costovertebral joint) and its
    neck runs back and out in front of the transverse process, which springs from the junction of
    pedicle and lamina (Standring, Gray's Anatomy). Where thick slices blur those joints the head
    and neck join the vertebra's label, inside `RIB_FROM_MIDLINE_MM`. Per segment, the body's
    half-width is measured in its anterior half (BODY_FRONT_BAND_MM in front of the column's centre
    line, where no rib attaches; the median over its axial rows) and its posterior wall along the
    midline (the end of the bone run from the centre line backwards); bone farther than
    RIB_HEAD_MARGIN_MM beyond that half-width and less than RIB_NECK_BEHIND_WALL_MM behind the
    wall is rib. (`labels`: segment numbers, cranial first; `thoracic`: segment numbers; x_of_z,
    y_of_z: the column's centre line on the crop.)
    """
    nx, ny, _ = labels.shape
    x_offset = np.abs(np.arange(nx)[:, None] - x_of_z[None, :])  # (x, z)
    near, far = (int(round(d / WORKING_SPACING_MM)) for d in BODY_FRONT_BAND_MM)
    strip = int(round(WALL_STRIP_HALF_WIDTH_MM / WORKING_SPACING_MM))
    for n in thoracic:
        mask = labels == n
        half_widths, walls = [], []
        for z in np.nonzero(mask.any(axis=(0, 1)))[0]:
            x0, y0 = int(round(x_of_z[z])), int(round(y_of_z[z]))
            if not (0 <= x0 < nx and 0 <= y0 < ny):
                continue
            front = mask[:, max(0, y0 - far) : max(0, y0 - near + 1), z].any(axis=1)
            if front.any():
                half_widths.append(float(x_offset[front, z].max()))
            midline = mask[max(0, x0 - strip) : x0 + strip + 1, y0:, z].any(axis=0)
            if midline[0]:
                walls.append(float(np.argmin(midline)) if not midline.all() else float(len(midline)))
        if len(half_widths) < MIN_RIB_HEAD_ROWS or len(walls) < MIN_RIB_HEAD_ROWS:
            continue
        lateral = x_offset > np.median(half_widths) + RIB_HEAD_MARGIN_MM / WORKING_SPACING_MM  # (x, z)
        y_from_centre = np.arange(ny)[:, None] - y_of_z[None, :]  # (y, z)
        in_front = y_from_centre < np.median(walls) + RIB_NECK_BEHIND_WALL_MM / WORKING_SPACING_MM
        labels[mask & lateral[:, None, :] & in_front[None, :, :]] = 0

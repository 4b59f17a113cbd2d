"""The segmentation's checks on itself: where it cannot be sure it says so and refuses, or warns.
The column must run through the vertebral bodies (not along the arches), every labelled segment
must have a cortex, the count along the column must be trustworthy (no segment holding two
vertebrae, the sacrum's top near its joints with the ilia), a hint must point inside a vertebra
that was found, and the cortical-shell cut is applied only where the shell is resolved."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import CORTEX_HU, THIN_VOXEL_MM, WORKING_SPACING_MM, within_cortex
from kambin.anatomy.column import Column
from kambin.anatomy.pelvis import SacroiliacContact
from kambin.errors import InvalidInputError

#: The cortical-shell cut (`keep_within_cortex`) is trusted where at least this fraction of the
#: bone within BODY_CORE_RADIUS_MM of the body centre line lies inside a shell: phantoms at 1-1.5 mm
#: 0.95-1.0, with or without contrast; real CTs of 3 mm slices 0.01-0.10 (VerSe sub-verse006 and 007,
#: TotalSegmentator's example), where the shell is blurred into the cancellous bone; those are not
#: even tried (THIN_VOXEL_MM). Where not trusted on thin voxels, a cut that would remove more than
#: SHELL_WARN_ML is worth a warning.
SHELL_MIN_BODY_FRACTION = 0.9


BODY_CORE_RADIUS_MM = 10.0


SHELL_WARN_ML = 5.0


#: Fat on the smoothed CT (HU): subcutaneous, epidural and interlaminar fat read -150 to -30 (gas in
#: a vacuum disc reads lower, disc and bone higher).
FAT_HU = (-150.0, -30.0)


#: The share of the column's length that may read fat (`check_column_in_bodies`): partial volume at
#: the edge of a vacuum disc's gas. Measured along columns through the bodies: 0-1.5 % (the shared
#: real CTs, phantoms); along columns that followed the arches: 9-12 % (tptbox-sample, whose bodies
#: read 150-210 HU; osteoporotic phantoms, bodies near 80 HU).
COLUMN_MAX_FAT_FRACTION = 0.05


#: A segment with fewer of its voxels than this above `bone.CORTEX_HU` has no cortex: no vertebra.
#: Measured: real vertebrae 1.0-4.6 % (TotalSegmentator's example, 3 mm, smoothed; the partial T12
#: at the scan's top 1.0 %), 4.5-12 % (VerSe, 1x1x3 mm), 21-36 % (tptbox-sample); the phantoms'
#: 29-48 %; the enhanced aorta split off above the phantom's L1, 0.
MIN_CORTEX_FRACTION = 0.003


#: The sacrum's top (the L5-S1 disc's centre) lies within this height (mm) above the top of its joints
#: with the ilia: the auricular surface starts at S1's ala (Standring, Gray's Anatomy, 41st ed., ch.
#: 72); measured -15 to +11 mm (phantoms 0, 2, 3 at 1 mm, TotalSegmentator's example). A lumbar body
#: and disc (about 35 mm; Panjabi et al., Spine 17(3), 1992) more puts L5 in the sacral segment.
SACRUM_ABOVE_JOINT_MAX_MM = 25.0


#: A segment this many times the median disc spacing holds two vertebrae: each is 30-40 mm with its
#: disc from T10 to S1 (Panjabi 1992; Busscher et al., Eur Spine J 19(9), 2010), never 1.6 times another.
SEGMENT_HEIGHT_MAX_RATIO = 1.6


def keep_within_cortex(
    bone: np.ndarray, box: tuple[slice, ...], smoothed_hu: np.ndarray, column: Column, offset: np.ndarray, thin: bool
) -> str | None:
    """Cut, in place, bright soft tissue touching the bone (an enhanced aorta or vena cava against
    the bodies) from the bone mask within `box`: what lies outside every cortical shell
    (`bone.within_cortex`) and is not joined to bone by more than its reach.

    Only where the CT resolves the cortex: voxels of at most THIN_VOXEL_MM, and the bodies' own bone
    along the column at least SHELL_MIN_BODY_FRACTION inside the shell (a thick slice, or thin,
    faint cortex, blurs the wall into the cancellous bone, and the cut would take bone). Where the
    cut cannot be trusted the bone is left whole and the returned warning says why (thin voxels:
    only if the cut would have removed more than SHELL_WARN_ML); None otherwise.
    """
    if not thin:
        return _cortex_not_resolved(f"voxels over {THIN_VOXEL_MM:g} mm")
    mask = bone[box]
    inside = within_cortex(mask, smoothed_hu[box], WORKING_SPACING_MM)
    cut_ml = float((mask & ~inside).sum()) * WORKING_SPACING_MM**3 / 1000.0
    body = body_core(mask.shape, column, offset)
    body_inside = float((inside & mask & body).sum()) / max(1, int((mask & body).sum()))
    if body_inside >= SHELL_MIN_BODY_FRACTION:
        bone[box] = inside
        return None
    return _cortex_not_resolved("the bodies' cortex too faint") if cut_ml > SHELL_WARN_ML else None


def _cortex_not_resolved(why: str) -> str:
    return (
        f"the cortex is not resolved ({why}): bright soft tissue touching the bone, such as a contrast-"
        "enhanced aorta or vena cava, cannot be told from it and may be labelled bone; check the labels against the CT"
    )


def body_core(shape: tuple[int, ...], column: Column, offset: np.ndarray) -> np.ndarray:
    """Voxels within BODY_CORE_RADIUS_MM (in axial planes) of the column's centre line, between its
    outermost discs (beyond them the line may follow whatever bright tissue continues the column:
    the phantom's enhanced aorta above L1), or over its span with a single disc."""
    nx, ny, nz = shape
    radius = BODY_CORE_RADIUS_MM / WORKING_SPACING_MM
    xs = (np.arange(nx) + offset[0])[:, None, None]
    ys = (np.arange(ny) + offset[1])[None, :, None]
    core = (xs - column.x_of_z[None, None, :]) ** 2 + (ys - column.y_of_z[None, None, :]) ** 2 <= radius**2
    disc_zs = [float(d.centre_xyz[2]) for d in column.discs]
    low, high = (min(disc_zs), max(disc_zs)) if len(disc_zs) >= 2 else (column.z_low, column.z_high)
    core[:, :, : int(np.ceil(low))] = False
    core[:, :, int(high) + 1 :] = False
    return core


def check_column_in_bodies(column: Column, smoothed_hu: np.ndarray, source: str) -> None:
    """Refuse (InvalidInputError) a column that does not run through the vertebral bodies.

    Along the bodies and discs the CT reads bone, disc or, in a vacuum disc, gas; never fat. A column
    that reads fat (FAT_HU) for more than COLUMN_MAX_FAT_FRACTION of its length runs through the
    arches (the fat between the laminae, the canal's epidural fat): the bodies were too dark to be
    found, and every segment and name drawn from such a column would be wrong (phantom with
    osteoporotic bodies, seed 0 at 1.5 mm: every vertebra named one level off).
    """
    zs = np.arange(column.z_low, column.z_high + 1)
    nx, ny, _ = smoothed_hu.shape
    xs = np.clip(np.round(column.x_of_z[zs]).astype(int), 0, nx - 1)
    ys = np.clip(np.round(column.y_of_z[zs]).astype(int), 0, ny - 1)
    hu = smoothed_hu[xs, ys, zs]
    fat = float(((hu > FAT_HU[0]) & (hu < FAT_HU[1])).mean())
    if fat > COLUMN_MAX_FAT_FRACTION:
        raise InvalidInputError(
            f"{source}: the vertebral bodies were not found (the column found reads fat over {100 * fat:.0f} % of "
            "its length: it runs through the arches, not the bodies; very dark, osteoporotic bodies?); no "
            "segmentation"
        )


def count_suspect(column: Column, joint: SacroiliacContact | None) -> tuple[str, int | None]:
    """Why the count of segments along the column cannot be trusted, or "", and the segment (1-based,
    cranial first) that breaks it.

    Two vertebrae left in one segment (a disc the column search missed) shift every name counted
    across them by a level. Caught where it shows: a segment more than SEGMENT_HEIGHT_MAX_RATIO times
    the median disc spacing, or a sacral segment that reaches more than SACRUM_ABOVE_JOINT_MAX_MM
    above its joints with the ilia (L5 held in it: phantom seed 2 at 1.5 mm, whose L5-S1 disc was
    missed, reached 39 mm above them and named every level one too high).
    """
    zs = [d.centre_xyz[2] for d in column.discs]
    gaps = -np.diff(zs)
    if len(gaps) >= 2:
        tallest = int(np.argmax(gaps))
        if gaps[tallest] > SEGMENT_HEIGHT_MAX_RATIO * float(np.median(gaps)):
            return (
                f"segment {tallest + 2} (cranial first) is {gaps[tallest]:.0f} mm tall, against {np.median(gaps):.0f} "
                "for the others (two vertebrae with a disc missed between them?), so the count cannot be trusted"
            ), tallest + 2
    if joint is not None and joint.segment >= 2:
        above = (zs[joint.segment - 2] - joint.top_z) * WORKING_SPACING_MM
        if above > SACRUM_ABOVE_JOINT_MAX_MM:
            return (
                f"the segment meeting the ilia reaches {above:.0f} mm above its sacroiliac joints (L5 and S1 in "
                "one segment, a disc missed?), so the count from the sacrum cannot be trusted"
            ), joint.segment
    return "", None


def drop_segments_without_cortex(
    labels: np.ndarray, column: Column, hu: np.ndarray
) -> tuple[np.ndarray, Column, str, int | None]:
    """Unlabel, in place, segments with (almost) no cortex: an enhanced vessel split off as a segment.

    A segment with under MIN_CORTEX_FRACTION of its voxels above `bone.CORTEX_HU` is no vertebra. At an
    end of the column it is dropped with its disc, so the count from the other end holds (the
    phantom's enhanced aorta, running on above L1, made a "T12" of its own); in the middle it is
    unlabelled and the count across it is suspect: the reason and the segment are returned for the
    naming (`identification.Evidence.suspect`), which then names nothing from the cues.
    """
    count = len(column.discs) + 1
    sizes = ndi.sum(np.ones(labels.shape, bool), labels, index=np.arange(1, count + 1))
    fractions = ndi.sum(hu > CORTEX_HU, labels, index=np.arange(1, count + 1)) / np.maximum(sizes, 1)
    lacking = [n for n in range(1, count + 1) if sizes[n - 1] > 0 and fractions[n - 1] < MIN_CORTEX_FRACTION]
    first, last = 1, count
    while first in lacking and first < last:
        first += 1
    while last in lacking and last > first:
        last -= 1
    middle = [n for n in lacking if first < n < last]
    for n in lacking:
        labels[labels == n] = 0
    if first > 1 or last < count:
        labels[labels > last] = 0
        labels[labels > 0] -= first - 1
        column = replace(column, discs=column.discs[first - 1 : last - 1])
    if not middle:
        return labels, column, "", None
    suspect = (
        f"segment {middle[0] - first + 1} (cranial first) has no cortex (an enhanced vessel or organ?), so "
        "the count across it cannot be trusted"
    )
    return labels, column, suspect, middle[0] - first + 1


def named_short_of(
    names: list[str | None], broken: int, anchors: list[int], reason: str, warnings: list[str]
) -> list[str | None]:
    """Names counted from a hint hold only on the hint's side of a segment that breaks the count.

    A hint is obeyed, but it cannot mend the segmentation: a segment holding two vertebrae (or a
    vessel counted as one) shifts every name counted across it. So that segment (1-based, cranial
    first) and every one beyond it from the hint are left unlabelled, with a warning; a hint inside
    it is refused (InvalidInputError). Phantom seed 2 at 1.5 mm, L5 and S1 in one segment: a click
    in L3 had named that segment L5.
    """
    if broken in anchors:
        raise InvalidInputError(
            f"the hint names segment {broken} (cranial first), which cannot be trusted as one vertebra: {reason}"
        )
    names = list(names)
    hints_cranial = all(a < broken for a in anchors)  # every hint above the broken segment
    hints_caudal = all(a > broken for a in anchors)
    dropped = [
        n
        for n in range(1, len(names) + 1)
        if n == broken or (hints_cranial and n > broken) or (hints_caudal and n < broken)
    ]
    for n in dropped:
        names[n - 1] = None
    warnings.append(f"segments {', '.join(map(str, dropped))} (cranial first) not labelled: {reason}")
    return names

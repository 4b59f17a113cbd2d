"""Vertebra segmentation and identification of a lumbar CT, classically, on a CPU, in seconds.

Pipeline (each step its own module):
  1. check the input is a CT of enough extent (`check_ct`);
  2. resample onto an LPS-aligned 1 mm working grid; smooth; threshold bone, its blur halo peeled,
     pieces without a cortex (enhanced vessels and organs) dropped (`anatomy.bone`);
  3. find the body midline by mirror symmetry and the body column (`anatomy.column`), and the
     discs along it from the endplate signature, chosen together by dynamic programming
     (`anatomy.discs`);
  4. split the bone into vertebrae by a geodesic split from markers in the bodies, joint spaces
     costly to cross (`anatomy.vertebra_split`);
  5. tell the sacrum by its sacroiliac joints, and label the hip bones (`anatomy.pelvis`);
  6. name the vertebrae from the sacrum, the last ribs or the user's hint (`anatomy.identification`),
     and cut the ribs off the thoracic ones (`cut_ribs`);
  7. bring the labels back onto the CT's grid (nearest neighbour; on thick slices each label's
     indicator linearly, `labels_on_ct_grid`).

No learned model and no download: numpy, scipy and SimpleITK only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import (
    BONE_HU,
    HALF_MAXIMUM_FRACTION,
    SOFT_TISSUE_HU,
    THIN_VOXEL_MM,
    WORKING_SPACING_MM,
    bone_mask,
    midline_x,
    smooth_hu,
    with_cortex,
)
from kambin.anatomy.column import Column, Disc, find_column
from kambin.anatomy.ct_grid_labels import labels_on_ct_grid, nearest_on_ct_grid, peel_on_ct_grid
from kambin.anatomy.identification import Anchor, Evidence, has_sacrum, hint_anchors, name_segments, rib_sides
from kambin.anatomy.label_io import write_label_map
from kambin.anatomy.labels import label_id, sidecar
from kambin.anatomy.metal import label_metal
from kambin.anatomy.pelvis import hip_bones, iliac_components, sacral_segment
from kambin.anatomy.rib_cuts import cut_rib_heads, cut_ribs, thoracic_segments
from kambin.anatomy.segmentation_checks import (
    check_column_in_bodies,
    count_suspect,
    drop_segments_without_cortex,
    keep_within_cortex,
    named_short_of,
)
from kambin.anatomy.vertebra_split import MIN_SEGMENT_MM, split_vertebrae
from kambin.errors import InvalidInputError
from kambin.imaging.resample import resample_axis_aligned
from kambin.imaging.volume import Volume

MIN_EXTENT_MM = 40.0
MIN_SLICES = 8
CROP_LATERAL_MM = 95
CROP_ANTERIOR_MM = 40
CROP_POSTERIOR_MM = 100
#: Depth of the sacrum's top segment (labelled S1, as TotalSegmentator does) below the L5-S1 disc's
#: centre, when no S1-S2 remnant disc is found: half the L5-S1 disc (about 5 mm of its 10-12 mm;
#: Pfirrmann et al., Spine 31(18), 2006), the S1 body (about 27 mm, as tall as L5's; Standring,
#: Gray's Anatomy) and half the thin S1-S2 remnant (about 2 mm). (30 mm, the body alone, left the
#: S1 label 4-6 mm short of the phantoms' S1.)
S1_HEIGHT_MM = 34.0
#: An S1-S2 remnant disc lies one S1 body height (about 25-35 mm; Standring, Gray's Anatomy) under
#: the sacrum's top; one found there (a dark disc between endplates) replaces S1_HEIGHT_MM. (A
#: search for the fused junction at any density was tried: right on some phantoms, wrong on others.)
S1_HEIGHT_RANGE_MM = (18.0, 40.0)
#: Hint semantics: an end segment counts as in view from this fraction of a segment's height.
IN_VIEW_FRACTION = 0.75
#: Reach, above and below a voxel, of the search for the two cortices that flank a disc or joint
#: space (`_clear_joint_spaces`): half the tallest lumbar disc (10-12 mm; Pfirrmann et al., Spine
#: 31(18), 2006) rounded up, so a voxel anywhere in a disc sees both endplates, while the cancellous
#: interior of a body (25-30 mm tall) does not reach the next vertebra's endplate. VerSe, 1x1x3 mm:
#: mean Dice 0.828 -> 0.833 (reach 4 / 6 / 8 mm: 0.832 / 0.833 / 0.834, the 8 mm reach costing
#: sub-verse007 T9 and L5 0.005); TotalSegmentator example (3 mm): every vertebra +0.000 to +0.003.
JOINT_SPACE_REACH_MM = 6.0
#: A --level-at point names the vertebra holding it, or the nearest one within this distance (mm): the
#: working grid's rounding, no more. A point farther from every label lies where the segmentation
#: found no vertebra (a click in a body it missed: tptbox-sample's low-density L3 body, 2.1 mm from
#: the nearest label, which belonged to the arch above), and naming the nearest label would name
#: whatever was found there, so the hint is refused instead of being applied to the wrong bone.
LEVEL_AT_REACH_MM = 1.0
#: Slices (or voxels) thicker than this (mm) are segmented with a warning: issue 21 asks for 3 mm
#: and a graceful 5 mm; a lumbar disc is 8-12 mm tall and a facet joint space 1-4 mm wide.
THICK_WARNING_MM = 3.0
TYPICAL_SEGMENT_MM = 34.0  # a lumbar body plus disc (Panjabi et al., Spine 17(3), 1992)


@dataclass(frozen=True)
class SpineSegmentation:
    """Vertebra labels on the CT's grid and how they were named.

    Attributes:
        labels: uint8 label map on the input CT's grid, registry ids (vertebrae_L5 = 27, ...).
        vertebrae: names of the labelled vertebrae, cranial first (e.g. ["L3", "L4", "L5", "S1"]);
            unnamed ones are "vertebra_1" .. "vertebra_n".
        identification: which cue or hint named the levels ("sacrum in view ...", "user hint
            --lowest L5", ...), or "not named: " and why.
        confidence: 0-1; 0.97 sacrum and ribs agree, 0.9 sacrum or a user hint, 0.85 ribs on both
            sides (or ribs confirmed by a sacral-looking lowest segment), 0 not named.
        named: False when the levels could not be named (the cues disagree or are missing): then
            no level can be planned until a hint names one.
        warnings: problems that did not stop the segmentation.
        disc_centres_lps_mm: centre of each disc found between labelled vertebrae, cranial first.
        pelvis: the hip bones labelled ("hip_left", "hip_right": registry ids 77, 78), when the
            sacrum and the ilia are in view; the iliac crest is their top
            (`anatomy.pelvis.iliac_crest_tops_lps_mm`).
        implants: ["metal"] when metal (screws, rods) was found and labelled (registry id 249); the
            vertebra it sits in keeps its label around it.
    """

    labels: Volume
    vertebrae: list[str]
    identification: str
    confidence: float
    named: bool = True
    warnings: list[str] = field(default_factory=list)
    disc_centres_lps_mm: list[list[float]] = field(default_factory=list)
    pelvis: list[str] = field(default_factory=list)
    implants: list[str] = field(default_factory=list)

    def sidecar(self) -> dict[str, str]:
        """Label id (string) -> registry name, for the ids present."""
        return sidecar(
            [label_id(_registry_name(v)) for v in self.vertebrae] + [label_id(n) for n in self.pelvis + self.implants]
        )


def _registry_name(vertebra: str) -> str:
    """ "L4" -> "vertebrae_L4"; "sacrum" and the unnamed "vertebra_3" are registry names already."""
    return vertebra if vertebra == "sacrum" or vertebra.startswith("vertebra_") else f"vertebrae_{vertebra}"


def check_ct(ct: Volume) -> None:
    """Refuse volumes that cannot be a CT of a spine: MR/PET, too few slices, no HU range, no bone."""
    if ct.modality not in ("CT", "unknown", ""):
        raise InvalidInputError(f"{ct.source or 'volume'} is {ct.modality}, not CT; vertebra segmentation needs a CT")
    extent = ct.spacing_mm * np.asarray(ct.shape_ijk)
    if min(ct.shape_ijk) < MIN_SLICES or extent.min() < MIN_EXTENT_MM:
        raise InvalidInputError(
            f"the volume is {ct.shape_ijk} voxels ({np.round(extent).astype(int).tolist()} mm): at least "
            f"{MIN_SLICES} slices and {MIN_EXTENT_MM:.0f} mm along every axis are needed to see a vertebra"
        )
    sample = ct.voxels[
        :: max(1, ct.shape_ijk[0] // 64), :: max(1, ct.shape_ijk[1] // 64), :: max(1, ct.shape_ijk[2] // 64)
    ]
    low, high = np.percentile(sample, [0.5, 99.9])
    if sample.min() > -200 or low > -50:
        raise InvalidInputError(
            f"{ct.source or 'the volume'} has no values below -200 (range {sample.min():.0f} to {sample.max():.0f}): "
            "not a CT in Hounsfield units (an MR?); give a CT"
        )
    if high < 300:
        raise InvalidInputError(f"{ct.source or 'the CT'} has no bone (99.9th percentile {high:.0f} HU < 300 HU)")


def segment_spine(
    ct: Volume,
    lowest: str | None = None,
    highest: str | None = None,
    level_at: Sequence[tuple[Sequence[float], str]] = (),
) -> SpineSegmentation:
    """Segment and name the vertebrae of a CT (lumbar spine, with T10-T12 and the sacrum in view).

    The user's hints are obeyed exactly (`anatomy.identification`): `lowest`/`highest` name the
    lowest/highest segment of the column in view (between two discs, or cut by the crop beyond its
    far endplate with three quarters of it in view: `_in_view`; the sacrum counts, as S1);
    `level_at` holds (point in LPS mm, name) pairs, each naming the vertebra that holds the point.
    Without a hint the levels are named from the sacrum and the last ribs, or left unnamed
    (`vertebra_1` .. `vertebra_n`, `named` False, `identification` says why). Raises
    InvalidInputError for a volume with no spine, or hints that disagree or point at no vertebra.
    """
    check_ct(ct)
    work = resample_axis_aligned(ct, WORKING_SPACING_MM, "linear", fill_value=-1024.0, float32=True)
    voxels = work.voxels
    smoothed = smooth_hu(voxels, WORKING_SPACING_MM)
    # The plain threshold finds the midline, column and pelvis; pieces with no cortex are enhanced
    # blood or organs (`bone.with_cortex`), never bone.
    bone = with_cortex(smoothed > BONE_HU, smoothed)
    if bone.sum() < 2000:
        raise InvalidInputError(f"{ct.source or 'the CT'}: almost no bone above {BONE_HU:.0f} HU; no spine to segment")
    x_mid = midline_x(bone)
    column = find_column(bone, x_mid, smoothed)
    if column is None or len(column.discs) < 1:
        raise InvalidInputError(
            f"{ct.source or 'the CT'}: no vertebral column found (no run of vertebral bodies with a disc "
            "between them); is this a CT of the lumbar spine?"
        )
    check_column_in_bodies(column, smoothed, ct.source or "the CT")
    # Crop to the column (speed), keeping the lateral bone needed to tell ribs.
    nx, ny, nz = bone.shape
    y_min = int(max(0, column.y_of_z[column.z_low : column.z_high + 1].min() - CROP_ANTERIOR_MM))
    y_max = int(min(ny, column.y_of_z[column.z_low : column.z_high + 1].max() + CROP_POSTERIOR_MM))
    x_min = int(max(0, x_mid.min() - CROP_LATERAL_MM))
    x_max = int(min(nx, x_mid.max() + CROP_LATERAL_MM + 1))
    box = (slice(x_min, x_max), slice(y_min, y_max), slice(0, nz))
    offset = np.array([x_min, y_min, 0], dtype=float)
    thin = float(ct.spacing_mm.max()) <= THIN_VOXEL_MM
    shell_warning = keep_within_cortex(bone, box, smoothed, column, offset, thin)
    # The vertebrae's own edges: the threshold with the blur halo peeled (`bone.bone_mask`), on
    # the crop only (the peel's 5 mm maximum filter is the costliest step on the whole grid).
    bone_crop = bone_mask(smoothed[box], WORKING_SPACING_MM) & bone[box]
    # The split's joint spaces (`vertebra_split`) on the unsmoothed CT where its voxels can show a
    # joint space (see THIN_VOXEL_MM), else on the smoothed one.
    labels, other = split_vertebrae((voxels if thin else smoothed)[box], bone_crop, column, offset, thin_voxels=thin)

    # The naming cues: the sacrum (the segment meeting both ilia at the sacroiliac joints), the last
    # ribs, and the user's hints resolved to segments (`anatomy.identification`).
    x_mid_crop = x_mid - x_min
    ilia = iliac_components(other, WORKING_SPACING_MM)
    labels, column, suspect, broken = drop_segments_without_cortex(labels, column, (voxels if thin else smoothed)[box])
    count = len(column.discs) + 1
    joint = sacral_segment(labels, ilia, count, x_mid_crop, WORKING_SPACING_MM)
    if not suspect:
        suspect, broken = count_suspect(column, joint)
    sacral = None if joint is None or suspect else joint.segment
    present = [n for n in range(1, count + 1) if (labels == n).sum() > 1000 * MIN_SEGMENT_MM / 8]
    shape = bool(
        sacral is None
        and present
        and present[-1] == count
        and has_sacrum(labels, other, count, column.discs[-1].centre_xyz[2], x_mid_crop)
    )
    evidence = Evidence(
        sacral=None if sacral is None else sacral - 1,
        sacrum_shape=shape,
        suspect=suspect,
        rib_sides=tuple(rib_sides(labels, other, bone_crop, x_mid_crop, count)),
        whole=_in_view(column, count),
    )
    anchors = hint_anchors(evidence, lowest, highest) + [
        Anchor(
            _segment_at(labels, work.lps_to_ijk(np.asarray([xyz], float))[0] - offset, xyz), name, f"--level-at {name}"
        )
        for xyz, name in level_at
    ]
    naming = name_segments(evidence, anchors)
    names_per_segment = list(naming.names)
    warnings = list(naming.warnings) + list(ct.warnings) + ([shell_warning] if shell_warning else [])
    coarsest = float(np.max(ct.spacing_mm))
    if coarsest > THICK_WARNING_MM:
        warnings.append(
            f"voxels up to {coarsest:g} mm (over {THICK_WARNING_MM:g} mm): discs, facet joints and thin cortex blur; "
            "check the labels against the level picture"
        )
    if broken is not None and naming.named and anchors:
        names_per_segment = named_short_of(names_per_segment, broken, [a.segment + 1 for a in anchors], suspect,
                                            warnings)
    # Segments below the one named S1 (S2-S5, cut off by a remnant S1-S2 disc) are the sacrum's.
    sacral_discs: tuple[Disc, ...] = ()
    top_disc: Disc | None = None
    if "S1" in names_per_segment:
        s1 = names_per_segment.index("S1") + 1
        labels[labels > s1] = s1
        top_disc = column.discs[s1 - 2] if s1 > 1 else None
        sacral_discs = column.discs[s1 - 1 :]
        column = replace(column, discs=column.discs[: s1 - 1])
        names_per_segment = names_per_segment[:s1]
        count = s1
    split_sacrum = top_disc is not None and (sacral is not None or shape)
    thoracic = thoracic_segments(naming, evidence)
    cut_ribs(labels, thoracic, column.x_of_z - x_min)
    cut_rib_heads(labels, thoracic, column.x_of_z - x_min, column.y_of_z - y_min)
    if not thin:
        _clear_joint_spaces(labels, smoothed[box])

    out_work = np.zeros(bone.shape, dtype=np.uint8)
    names: list[str] = []
    pelvis: list[str] = []
    sub = out_work[box]
    for n in range(1, count + 1):
        name = names_per_segment[n - 1]
        if name is None or n not in present:
            if n in present:
                warnings.append(f"segment {n} (cranial first) lies beyond the named range; not labelled")
            continue
        mask = labels == n
        if name == "S1" and split_sacrum:
            # TotalSegmentator's convention: the top sacral segment is vertebrae_S1, the rest sacrum.
            below = _below_s1(mask, top_disc, sacral_discs, offset)
            sub[mask & below] = label_id("sacrum")
            sub[mask & ~below] = label_id("vertebrae_S1")
            names += ["S1", "sacrum"]
        else:
            sub[mask] = label_id(_registry_name(name))
            names.append(name)
    if not names:
        raise InvalidInputError(
            f"{ct.source or 'the CT'}: vertebrae were found but none large enough to label "
            f"(each under {MIN_SEGMENT_MM / 8 * WORKING_SPACING_MM**3:g} ml of bone)"
        )
    if sacral is not None and "S1" in names and ilia.any():
        bone[box] = bone_crop
        left, right = hip_bones(bone, out_work, ilia, box, x_mid)
        hips = ndi.find_objects((left | right).astype(np.uint8))
        if hips and hips[0] is not None:
            peeled = bone_mask(smoothed[hips[0]], WORKING_SPACING_MM)  # the hips' own edges
            left[hips[0]] &= peeled
            right[hips[0]] &= peeled
        out_work[left & (out_work == 0)] = label_id("hip_left")
        out_work[right & (out_work == 0)] = label_id("hip_right")
        pelvis = [n for n, m in (("hip_left", left), ("hip_right", right)) if m.any()]
    labels_work = work.with_voxels(out_work, modality="SEG")
    if thin:
        ct_labels = nearest_on_ct_grid(labels_work, ct)
        peel_on_ct_grid(ct_labels, ct, [label_id(_registry_name(v)) for v in names] + [label_id(h) for h in pelvis])
    else:
        ct_labels = labels_on_ct_grid(labels_work, ct)
    implants = ["metal"] if label_metal(ct_labels, ct) else []
    labels_ct = Volume(
        voxels=ct_labels,
        voxel_to_lps=ct.voxel_to_lps,
        modality="SEG",
        source=ct.source,
        metadata={"identification": naming.identification, "confidence": naming.confidence, "named": naming.named},
    )
    discs_lps = [work.ijk_to_lps(d.centre_xyz).round(2).tolist() for d in column.discs]
    return SpineSegmentation(
        labels=labels_ct,
        vertebrae=names,
        identification=naming.identification,
        confidence=naming.confidence,
        named=naming.named,
        warnings=warnings,
        disc_centres_lps_mm=discs_lps,
        pelvis=pelvis,
        implants=implants,
    )


def _clear_joint_spaces(labels: np.ndarray, smoothed_hu: np.ndarray) -> None:
    """Unlabel, in place, disc and joint space voxels left between two vertebrae's cortices.

    Along the cranio-caudal axis (working-grid z), a voxel with the brightest voxel within
    JOINT_SPACE_REACH_MM above it labelled one vertebra and the brightest within that reach below it
    labelled another, and darker than HALF_MAXIMUM_FRACTION of the way from soft tissue to the
    dimmer of the two (the full width at half maximum edge of each cortex), lies in the space
    between two endplates (a disc) or two articular processes (a facet joint): not bone, and left
    out of expert masks. Thick slices average a disc with the endplates curving into it beside the
    midline and raise it above the bone threshold, so the split's two fronts meet in the middle
    of the disc instead of leaving it out. The brightest voxel of a vertebra's own interior is never
    flanked by another vertebra on both sides, so cancellous bone between two cortices of one
    vertebra (a lamina, a process) is kept.
    """
    nz = labels.shape[2]
    reach = min(int(round(JOINT_SPACE_REACH_MM / WORKING_SPACING_MM)), nz - 1)
    peak = {}
    for name, sign in (("above", 1), ("below", -1)):
        best = np.full(labels.shape, -np.inf, dtype=np.float32)
        owner = np.zeros(labels.shape, dtype=labels.dtype)
        for d in range(1, reach + 1):
            src = slice(d, None) if sign > 0 else slice(None, -d)
            dst = slice(None, -d) if sign > 0 else slice(d, None)
            value = smoothed_hu[:, :, src]
            brighter = value > best[:, :, dst]
            best[:, :, dst][brighter] = value[brighter]
            owner[:, :, dst][brighter] = labels[:, :, src][brighter]
        peak[name] = (best, owner)
    (above, owner_above), (below, owner_below) = peak["above"], peak["below"]
    dimmer = np.minimum(above, below)
    gap = (
        (labels > 0)
        & (owner_above > 0)
        & (owner_below > 0)
        & (owner_above != owner_below)
        & (smoothed_hu < SOFT_TISSUE_HU + HALF_MAXIMUM_FRACTION * (dimmer - SOFT_TISSUE_HU))
    )
    labels[gap] = 0


def _segment_at(labels: np.ndarray, ijk: np.ndarray, xyz: Sequence[float]) -> int:
    """The segment (0-based, cranial first) holding a --level-at point (`ijk`: on the crop), or the
    nearest within LEVEL_AT_REACH_MM; InvalidInputError if none is that near."""
    reach = int(np.ceil(LEVEL_AT_REACH_MM / WORKING_SPACING_MM))
    centre = np.round(ijk).astype(int)
    low = np.maximum(centre - reach, 0)
    high = np.minimum(centre + reach + 1, labels.shape)
    where = f"--level-at point ({', '.join(f'{v:g}' for v in xyz)}) mm LPS"
    if np.any(high <= low):
        raise InvalidInputError(
            f"{where} lies outside the spine's region of the CT; give a point inside a vertebral body"
        )
    window = labels[tuple(slice(a, b) for a, b in zip(low, high, strict=True))]
    points = np.argwhere(window > 0)
    if points.size == 0:
        raise InvalidInputError(
            f"{where} lies in no vertebra found (none within {LEVEL_AT_REACH_MM:g} mm): the segmentation missed "
            "the bone there; check the level picture and give a point inside a labelled vertebral body"
        )
    distance = np.linalg.norm((points + low - ijk) * WORKING_SPACING_MM, axis=1)
    nearest = points[np.argmin(distance)]
    if distance.min() > LEVEL_AT_REACH_MM:
        raise InvalidInputError(
            f"{where} lies in no vertebra found (the nearest {distance.min():.1f} mm away): the segmentation missed "
            "the bone there; check the level picture and give a point inside a labelled vertebral body"
        )
    return int(window[tuple(nearest)]) - 1


def _in_view(column: Column, count: int) -> tuple[bool, ...]:
    """Per segment (cranial first): is it (almost) wholly in view, so that a hint can name it?

    A segment between two discs is; an end segment is if the column runs on beyond its one disc
    for at least IN_VIEW_FRACTION of a segment's height (the median disc spacing, or
    TYPICAL_SEGMENT_MM with fewer than two discs): a vertebra whose far endplate is just cut by
    the crop is still the one a reader calls the lowest (or highest) in view.
    """
    zs = [d.centre_xyz[2] for d in column.discs]
    height = float(np.median(-np.diff(zs))) if len(zs) >= 2 else TYPICAL_SEGMENT_MM
    whole = [1 < n < count for n in range(1, count + 1)]
    if zs:
        whole[0] = column.z_high - zs[0] >= IN_VIEW_FRACTION * height
        whole[-1] = zs[-1] - column.z_low >= IN_VIEW_FRACTION * height
    return tuple(whole)


def _below_s1(mask: np.ndarray, top_disc: Disc, sacral_discs: tuple[Disc, ...], offset: np.ndarray) -> np.ndarray:
    """Voxels of the sacral segment below S1: below the S1-S2 remnant disc if one was found within
    S1_HEIGHT_RANGE_MM of the sacrum's top, else S1_HEIGHT_MM below the top, parallel to it."""
    points = np.stack(np.nonzero(mask), axis=1).astype(float) + offset
    plane, depth = top_disc, S1_HEIGHT_MM
    for disc in sacral_discs:
        gap = -top_disc.signed_distance(disc.centre_xyz[None])[0]
        if S1_HEIGHT_RANGE_MM[0] <= gap <= S1_HEIGHT_RANGE_MM[1]:
            plane, depth = disc, 0.0
            break
    below = np.zeros(mask.shape, dtype=bool)
    below[mask] = plane.signed_distance(points) < -depth
    return below


def write_segmentation(result: SpineSegmentation, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write the label map and its JSON sidecar (id -> name), each atomically (`label_io`)."""
    present = sorted(int(i) for i in np.unique(result.labels.voxels) if i != 0)
    return write_label_map(result.labels, sidecar(present), path)

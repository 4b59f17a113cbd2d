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
     and cut the ribs off the thoracic ones (`_cut_ribs`);
  7. bring the labels back onto the CT's grid (nearest neighbour; on thick slices each label's
     indicator linearly, `_labels_to_ct_grid`).

No learned model and no download: numpy, scipy and SimpleITK only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import (
    BONE_HU,
    CORTEX_HU,
    SMOOTHING_MM,
    SOFT_TISSUE_HU,
    below_edge_level,
    bone_mask,
    edge_window_voxels,
    eroded,
    label_boxes,
    mask_box,
    midline_x,
    smooth_hu,
    with_cortex,
    within_cortex,
)
from kambin.anatomy.column import Column, Disc, find_column
from kambin.anatomy.identification import Anchor, Evidence, Naming, has_sacrum, hint_anchors, name_segments, rib_sides
from kambin.anatomy.label_io import write_label_map
from kambin.anatomy.labels import label_id, sidecar
from kambin.anatomy.pelvis import SacroiliacContact, hip_bones, iliac_components, sacral_segment
from kambin.anatomy.vertebra_split import MIN_SEGMENT_MM, split_vertebrae
from kambin.errors import InvalidInputError
from kambin.imaging.resample import resample_axis_aligned, resample_like
from kambin.imaging.slabs import worker_count
from kambin.imaging.volume import Volume

WORKING_SPACING_MM = 1.0
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
#: Voxels at most this size (mm, on every axis) resolve a facet joint space or a lamina contact (1-4
#: mm wide; Standring, Gray's Anatomy): the dark line between the two cortices is then sharper in the
#: unsmoothed CT than the cancellous interior of a lamina, and the split's gap depth is taken from
#: it, so that a neighbour's flood stops there (ten phantoms, 1.0 and 0.8x0.8x1.5 mm: mean Dice 0.897
#: -> 0.915). Thicker slices blur the joint away and leave interpolation steps on the 1 mm grid
#: instead; there the 0.6 mm smoothing is kept (VerSe, 1x1x3 mm: mean Dice 0.80 with it, 0.77
#: without). Such voxels are also fine enough for a second peel of the blur halo on the CT's own
#: grid (`_peel_on_ct_grid`).
THIN_VOXEL_MM = 2.0
#: Edge rule of the second peel on a thin-voxel CT's own grid (`_peel_on_ct_grid`): the full width at
#: half maximum. A step blurred by a symmetric point-spread function crosses half its height at the
#: true surface, so a voxel whose centre lies outside the bone reads below half the way from soft
#: tissue to the bone next to it, one whose centre lies inside above it; 0.45 rather than 0.5
#: because the brightest bone within `bone.EDGE_WINDOW_MM` of a thin cortex is itself blurred below
#: the cortex's density. (On the working grid `bone.EDGE_FRACTION` stays lower: there the
#: threshold also has to keep thin, faint bone connected.) Ten phantoms, thin voxels: mean Dice
#: with 0.3 / 0.4 / 0.45 / 0.5: 0.935 / 0.946 / 0.947 / 0.945 (outer surface voxels
#: outside the truth: 50 % of them below 0.35 of the way; truth surface voxels: 90 % above 0.46).
HALF_MAXIMUM_FRACTION = 0.45
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
#: Reach, above and below a voxel, of the search for the two cortices that flank a disc or joint
#: space (`_clear_joint_spaces`): half the tallest lumbar disc (10-12 mm; Pfirrmann et al., Spine
#: 31(18), 2006) rounded up, so a voxel anywhere in a disc sees both endplates, while the cancellous
#: interior of a body (25-30 mm tall) does not reach the next vertebra's endplate. VerSe, 1x1x3 mm:
#: mean Dice 0.828 -> 0.833 (reach 4 / 6 / 8 mm: 0.832 / 0.833 / 0.834, the 8 mm reach costing
#: sub-verse007 T9 and L5 0.005); TotalSegmentator example (3 mm): every vertebra +0.000 to +0.003.
JOINT_SPACE_REACH_MM = 6.0
#: Rib heads and necks (`_cut_rib_heads`): bone more than RIB_HEAD_MARGIN_MM beyond the body's
#: half-width, and less than RIB_NECK_BEHIND_WALL_MM behind its posterior wall: in front of the
#: transverse process, which begins about a lower thoracic pedicle's length (10-15 mm) behind the
#: wall. sub-verse007 mean Dice of its seven vertebrae (T9 / T10 / T11 / T12), no cut: 0.837;
#: margin 4 mm, 8 / 12 / 16 mm behind: 0.839 / 0.841 / 0.842; margin 2 mm, 8 / 12 / 16 / 20 / 24
#: mm: 0.841 / 0.843 / 0.845 (0.816 / 0.852 / 0.884 / 0.861) / 0.844 / 0.842; margin 6 mm, 16 mm:
#: 0.840. The lumbar segments and the phantoms (lumbar) are untouched.
RIB_HEAD_MARGIN_MM = 2.0
RIB_NECK_BEHIND_WALL_MM = 16.0
#: Where a thoracic body's half-width is measured (`_cut_rib_heads`): this far in front of the
#: column's centre line (mm, nearest and farthest), in the body's anterior half, where no rib attaches.
BODY_FRONT_BAND_MM = (3.0, 10.0)
#: Half-width (mm) of the midline strip along which a thoracic body's posterior wall is found.
WALL_STRIP_HALF_WIDTH_MM = 2.0
#: A --level-at point names the vertebra holding it, or the nearest one within this distance (mm): the
#: working grid's rounding, no more. A point farther from every label lies where the segmentation
#: found no vertebra (a click in a body it missed: tptbox-sample's low-density L3 body, 2.1 mm from
#: the nearest label, which belonged to the arch above), and naming the nearest label would name
#: whatever was found there, so the hint is refused instead of being applied to the wrong bone.
LEVEL_AT_REACH_MM = 1.0
#: The sacrum's top (the L5-S1 disc's centre) lies within this height (mm) above the top of its joints
#: with the ilia: the auricular surface starts at S1's ala (Standring, Gray's Anatomy, 41st ed., ch.
#: 72); measured -15 to +11 mm (phantoms 0, 2, 3 at 1 mm, TotalSegmentator's example). A lumbar body
#: and disc (about 35 mm; Panjabi et al., Spine 17(3), 1992) more puts L5 in the sacral segment.
SACRUM_ABOVE_JOINT_MAX_MM = 25.0
#: A segment this many times the median disc spacing holds two vertebrae: each is 30-40 mm with its
#: disc from T10 to S1 (Panjabi 1992; Busscher et al., Eur Spine J 19(9), 2010), never 1.6 times another.
SEGMENT_HEIGHT_MAX_RATIO = 1.6
#: Metal (`_label_metal`): titanium reads 3000 HU and more, steel and cobalt-chrome beyond the scale
#: (3071), and no bone reaches 2500 (cortical bone is 1000-1900 HU). A voxel at the metal's edge,
#: more than half metal, reads over 1500 HU beside bone (half of 3000 and half of 300 or more); such
#: voxels next to metal are metal too, and so is cortex pressed against a screw (a rim a voxel thick).
#: Not separated from metal: excreted contrast denser than 2500 HU (renal pelvis, bladder).
METAL_HU = 2500.0
METAL_EDGE_HU = 1500.0
METAL_REACH_MM = 30.0
#: Slices (or voxels) thicker than this (mm) are segmented with a warning: issue 21 asks for 3 mm
#: and a graceful 5 mm; a lumbar disc is 8-12 mm tall and a facet joint space 1-4 mm wide.
THICK_WARNING_MM = 3.0
#: The cortical-shell cut (`_keep_within_cortex`) is trusted where at least this fraction of the
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
#: The share of the column's length that may read fat (`_check_column_in_bodies`): partial volume at
#: the edge of a vacuum disc's gas. Measured along columns through the bodies: 0-1.5 % (the shared
#: real CTs, phantoms); along columns that followed the arches: 9-12 % (tptbox-sample, whose bodies
#: read 150-210 HU; osteoporotic phantoms, bodies near 80 HU).
COLUMN_MAX_FAT_FRACTION = 0.05
#: A segment with fewer of its voxels than this above `bone.CORTEX_HU` has no cortex: no vertebra.
#: Measured: real vertebrae 1.0-4.6 % (TotalSegmentator's example, 3 mm, smoothed; the partial T12
#: at the scan's top 1.0 %), 4.5-12 % (VerSe, 1x1x3 mm), 21-36 % (tptbox-sample); the phantoms'
#: 29-48 %; the enhanced aorta split off above the phantom's L1, 0.
MIN_CORTEX_FRACTION = 0.003
MIN_RIB_HEAD_ROWS = 5  # axial rows of a segment that measure its body, at least
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
    _check_column_in_bodies(column, smoothed, ct.source or "the CT")
    # Crop to the column (speed), keeping the lateral bone needed to tell ribs.
    nx, ny, nz = bone.shape
    y_min = int(max(0, column.y_of_z[column.z_low : column.z_high + 1].min() - CROP_ANTERIOR_MM))
    y_max = int(min(ny, column.y_of_z[column.z_low : column.z_high + 1].max() + CROP_POSTERIOR_MM))
    x_min = int(max(0, x_mid.min() - CROP_LATERAL_MM))
    x_max = int(min(nx, x_mid.max() + CROP_LATERAL_MM + 1))
    box = (slice(x_min, x_max), slice(y_min, y_max), slice(0, nz))
    offset = np.array([x_min, y_min, 0], dtype=float)
    thin = float(ct.spacing_mm.max()) <= THIN_VOXEL_MM
    shell_warning = _keep_within_cortex(bone, box, smoothed, column, offset, thin)
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
    labels, column, suspect, broken = _drop_segments_without_cortex(labels, column, (voxels if thin else smoothed)[box])
    count = len(column.discs) + 1
    joint = sacral_segment(labels, ilia, count, x_mid_crop, WORKING_SPACING_MM)
    if not suspect:
        suspect, broken = _count_suspect(column, joint)
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
        names_per_segment = _named_short_of(names_per_segment, broken, [a.segment + 1 for a in anchors], suspect,
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
    thoracic = _thoracic_segments(naming, evidence)
    _cut_ribs(labels, thoracic, column.x_of_z - x_min)
    _cut_rib_heads(labels, thoracic, column.x_of_z - x_min, column.y_of_z - y_min)
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
        ct_labels = _nearest_on_ct_grid(labels_work, ct)
        _peel_on_ct_grid(ct_labels, ct, [label_id(_registry_name(v)) for v in names] + [label_id(h) for h in pelvis])
    else:
        ct_labels = _labels_to_ct_grid(labels_work, ct)
    implants = ["metal"] if _label_metal(ct_labels, ct) else []
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


def _keep_within_cortex(
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
    body = _body_core(mask.shape, column, offset)
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


def _body_core(shape: tuple[int, ...], column: Column, offset: np.ndarray) -> np.ndarray:
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


def _label_metal(labels: np.ndarray, ct: Volume) -> bool:
    """Label, in place, metal near the labelled bone as `metal`; the vertebra around keeps its label.

    Metal is the CT above METAL_HU, and next to it (26-neighbours) above METAL_EDGE_HU, within the
    labelled bone's bounding box widened by METAL_REACH_MM (rods stand off the laminae). Returns
    whether any was found.
    """
    found = mask_box(labels > 0)
    if found is None:
        return False
    reach = np.ceil(METAL_REACH_MM / np.asarray(ct.spacing_mm)).astype(int)
    lo = np.maximum(np.array([b.start for b in found]) - reach, 0)
    hi = np.minimum(np.array([b.stop for b in found]) + reach, labels.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    hu = np.asarray(ct.voxels[box])
    core = hu > METAL_HU
    if not core.any():
        return False
    metal = core | (ndi.binary_dilation(core, structure=np.ones((3, 3, 3), bool)) & (hu > METAL_EDGE_HU))
    labels[box][metal] = label_id("metal")
    return True


def _labels_to_ct_grid(labels_work: Volume, ct: Volume) -> np.ndarray:
    """The working grid's label map on the CT's own grid, each label's indicator interpolated
    linearly and the likeliest label kept where its indicator reaches one half.

    Nearest neighbour picks the working voxel whose centre is closest; where the CT's grid is
    oblique to the LPS-aligned working grid, the picked voxels are off by up to half a working
    voxel, unevenly across the volume, and a label's edge comes back jagged and shifted (VerSe
    sub-verse007, tilted about 8-13 degrees: its CT's voxel centres fall on average 0.3 of a working
    voxel off along y). Interpolating each label's indicator and thresholding at one half puts the
    edge where the working grid's edge runs, the usual way to resample a label map without
    nearest-neighbour aliasing (as ITK's label interpolators do). On a CT aligned with the working
    grid it gives nearest neighbour's result. Used for thick slices, whose grids are small; thin
    ones are peeled on their own grid instead (`_peel_on_ct_grid`). VerSe, 1x1x3 mm: mean Dice
    0.8445 -> 0.8477 (sub-verse006, aligned: unchanged; sub-verse007: +0.002..+0.004 per vertebra);
    TotalSegmentator example (aligned): unchanged. (ITK's Gaussian label interpolator,
    sitkLabelGaussian, which also smooths each edge: 0.8492, but sub-verse006 L4 and the
    TotalSegmentator example's L5 and L1 -0.002.)
    """
    out = np.zeros(ct.shape_ijk, dtype=np.uint8)
    best = np.zeros(ct.shape_ijk, dtype=np.float32)
    values = labels_work.voxels
    for value, box in enumerate(ndi.find_objects(values), start=1):
        if box is None:
            continue
        # The label's bounding box, a voxel wider (the interpolation's reach), is all that is resampled.
        box = tuple(slice(max(0, b.start - 1), min(n, b.stop + 1)) for b, n in zip(box, values.shape, strict=True))
        corner = np.eye(4)
        corner[:3, 3] = [b.start for b in box]
        indicator = Volume(
            voxels=(values[box] == value).astype(np.float32), voxel_to_lps=labels_work.voxel_to_lps @ corner
        )
        fraction = resample_like(indicator, ct, "linear", fill_value=0.0).voxels
        likelier = (fraction >= 0.5) & (fraction > best)
        out[likelier] = value
        best[likelier] = fraction[likelier]
    return out


def _nearest_on_ct_grid(labels_work: Volume, ct: Volume) -> np.ndarray:
    """The working grid's labels on the CT's grid by nearest neighbour, resampled over the CT's voxels
    within the labels' bounding box (a voxel wider) only: the rest is 0 anyway, and resampling a
    whole 512x512x400 grid takes 1.4 s. The result has the CT's memory order."""
    out = np.zeros(ct.shape_ijk, dtype=np.uint8, order="F" if ct.voxels.flags.f_contiguous else "C")
    found = mask_box(labels_work.voxels > 0)
    if found is None:
        return out
    corners = np.array(
        [[(b.start - 1, b.stop)[pick] for b, pick in zip(found, picks, strict=True)] for picks in np.ndindex(2, 2, 2)],
        dtype=float,
    )
    ijk = ct.lps_to_ijk(labels_work.ijk_to_lps(corners))
    shape = np.asarray(ct.shape_ijk)
    low = np.clip(np.floor(ijk.min(axis=0)).astype(int) - 1, 0, shape)
    high = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 2, 0, shape)
    if np.any(high <= low):
        return out
    corner = np.eye(4)
    corner[:3, 3] = low
    within = Volume(voxels=np.zeros(tuple(high - low), dtype=np.uint8), voxel_to_lps=ct.voxel_to_lps @ corner)
    out[tuple(slice(a, b) for a, b in zip(low, high, strict=True))] = resample_like(
        labels_work, within, "nearest", fill_value=0
    ).voxels
    return out


def _peel_on_ct_grid(labels: np.ndarray, ct: Volume, ids: list[int]) -> None:
    """Peel the blur halo off the outer surface of the labels `ids` (the vertebrae and hips) again
    on the CT's own grid, in place.

    Labels come back from the 1 mm working grid by nearest neighbour, so on a finer CT their edge
    is up to half a working voxel off, outward as often as not where the threshold already leans
    outward (`bone.bone_mask`). The half-maximum edge rule (HALF_MAXIMUM_FRACTION of the way from
    soft tissue to the brightest bone within `bone.EDGE_WINDOW_MM`) is applied to the outer
    surface voxels of the vertebra labels, on the CT smoothed by `bone.SMOOTHING_MM`. Only for CTs
    of thin voxels (THIN_VOXEL_MM): with thick slices a surface voxel's own partial volume holds
    bone and expert masks include it (VerSe, 1x1x3 mm: mean Dice 0.81 -> 0.80 with this peel).
    The hips are peeled too: an enhanced iliac vein against the ilium had its contact voxels
    labelled hip (phantom seed 0, arterial, 1.5 mm: 0.8 % of the vein; 0 % peeled).
    """
    is_peeled = np.zeros(256, dtype=bool)  # a lookup table: np.isin sorts the whole grid
    is_peeled[ids] = True
    found = mask_box(labels != 0)  # the labels' box first: a lookup over a whole CT grid takes 0.5 s
    if found is None:
        return
    window = [edge_window_voxels(s) for s in ct.spacing_mm]
    # Each label is peeled on its own box, widened by the smoothing's and the window's reach so that
    # its voxels see the same values as on the whole grid: the boxes of the vertebrae and hips hold
    # 40 % fewer voxels than the box around them all (the soft tissue between spine and ilia).
    reach = int(4.0 * SMOOTHING_MM / float(np.min(ct.spacing_mm)) + 0.5) + max(window) // 2
    outer = tuple(slice(max(0, b.start - reach), b.stop + reach) for b in found)
    within = labels[outer]
    boxes = [
        (value, tuple(slice(max(0, b.start - reach), b.stop + reach) for b in box))
        for value, box in enumerate(label_boxes(within), start=1)
        if box is not None and is_peeled[value]
    ]

    def peeled(value: int, box: tuple[slice, ...]) -> np.ndarray:
        mask = is_peeled[within[box]]
        hu = smooth_hu(ct.voxels[outer][box], ct.spacing_mm)
        halo = below_edge_level(hu, window, HALF_MAXIMUM_FRACTION)
        return (within[box] == value) & ~eroded(mask) & halo

    peel = np.zeros(within.shape, dtype=bool)
    with ThreadPoolExecutor(worker_count()) as pool:  # the labels at once: their boxes are small
        for (_, box), part in zip(boxes, pool.map(lambda item: peeled(*item), boxes), strict=True):
            peel[box] |= part
    within[peel] = 0


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


def _check_column_in_bodies(column: Column, smoothed_hu: np.ndarray, source: str) -> None:
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


def _named_short_of(
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


def _count_suspect(column: Column, joint: SacroiliacContact | None) -> tuple[str, int | None]:
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


def _drop_segments_without_cortex(
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


def _thoracic_segments(naming: Naming, evidence: Evidence) -> list[int]:
    """Segment numbers (1-based) whose ribs are cut: those named thoracic, or, unnamed, those at and
    above the lowest one a rib meets."""
    if naming.named:
        return [n + 1 for n, name in enumerate(naming.names) if name is not None and name.startswith("T")]
    ribbed = [n for n, sides in enumerate(evidence.rib_sides) if any(sides)]
    return list(range(1, max(ribbed) + 2)) if ribbed else []


def _cut_ribs(labels: np.ndarray, thoracic: list[int], x_of_z: np.ndarray) -> None:
    """Unlabel, in place, the bone of thoracic segments farther than RIB_FROM_MIDLINE_MM from the
    column's centre line x(z) (`labels`: segment numbers, cranial first; `thoracic`: segment numbers;
    `x_of_z`: on the crop), which follows a scoliotic spine where the body's midline does not."""
    if not thoracic:
        return
    distance = np.abs(np.arange(labels.shape[0])[:, None, None] - x_of_z[None, None, :])
    labels[np.isin(labels, thoracic) & (distance > RIB_FROM_MIDLINE_MM)] = 0


def _cut_rib_heads(labels: np.ndarray, thoracic: list[int], x_of_z: np.ndarray, y_of_z: np.ndarray) -> None:
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

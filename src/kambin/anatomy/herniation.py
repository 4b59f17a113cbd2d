"""Disc herniation seen on CT: disc-density tissue outside the disc space, in the canal or the
foramen, where epidural fat, the dural sac (CSF) and the nerve roots should be.

Unenhanced CT shows a herniated fragment as soft tissue of disc density (about 70 to 100 HU)
against epidural fat (about -100 HU) and the thecal sac (CSF, about 0 to 20 HU); nerve roots and
muscle are 30 to 50 HU (Williams AL et al., "CT recognition of lateral lumbar disk herniation",
AJR 1982;139:345-347; Fardon DF et al., "Lumbar disc nomenclature: version 2.0", Spine J
2014;14:2525-2545: a herniation is disc material displaced beyond the limits of the disc space,
a bulge is circumferential and within about 3 mm).

Method, per level, in a box around the disc:
  1. clip the CT at `HIGH_HU` (so that cortical bone, ~1500 HU, does not bleed into its
     surroundings), smooth it (Gaussian, sigma 1 mm: noise SD falls about threefold) and keep 65
     to 160 HU, above root and muscle density, below bone;
  2. drop bone (the labels dilated by 1 mm, for partial volume at the cortex) and the disc space
     with its normal bulge (everything within `BULGE_MM` of the estimated disc label);
  3. keep what lies from `FORAMEN_MM` in front of the disc's posterior margin to `REACH_MM`
     behind it (the front of the canal and the foramina, where fragments lie; further forward are
     the disc's own lateral annulus, the great vessels and psoas, further back the ligamentum
     flavum, also of soft-tissue density), within `MIGRATION_MM` of the disc plane, and within
     `ATTACH_MM` of the disc (a herniation is attached to its disc or lies close to it);
  4. report components of at least `MIN_VOLUME_MM3`, each with its partial-volume rim: grown by
     round(`EDGE_MM` / the finest spacing) one-voxel rings (face neighbours; on thick slices a
     ring is a slice deep) into the voxels whose unsmoothed HU is at least `EDGE_HU`.

The rim is judged on the unsmoothed CT: the scanner's blur puts a voxel whose centre lies just
inside the fragment at about the midpoint of the fragment's HU and its neighbour's (88 against
fat: -8; CSF: 48; root: 60), but the 1 mm smoothing of step 1 pulls it toward the neighbour, fat
most. On the herniated phantoms (bench patients 1, 3, 6, 9 and test patient 31), the one-voxel
shell beyond a rim grown on the smoothed CT (bone margin and disc labels left out) held 128, 206,
266, 99 and 100 fragment voxels; the unsmoothed test takes 117, 190, 256, 92 and 99 of them, and
0, 6, 0, 3 and 4 others (nerve-root voxels whose noise lifts them over 40 HU). Test patient 31's
foraminal fragment: 229 of its 319 voxels found with the smoothed rim (Dice 0.68), 341 with this
one (Dice 0.80); its exiting root, displaced by the fragment found, lay 1.56 and now 0.97 mm
from the truth's (mean, within 20 mm of the foramen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from kambin.imaging.volume import Volume

LOW_HU, HIGH_HU = 65.0, 160.0
BONE_HU = 250.0  # raw HU above which a voxel is bone (a calcified fragment is rare and not sought)
SMOOTHING_MM = 1.0
BULGE_MM = 3.0  # Fardon 2014: beyond ~3 mm from the disc space is displacement, not bulge
BONE_MARGIN_MM = 1.5
REACH_MM = 8.0
MIGRATION_MM = 15.0
FORAMEN_MM = 8.0  # the posterior band of the disc (canal and foramina) where fragments lie, in front of its margin
ATTACH_MM = 10.0  # extraforaminal fragments may lie several mm from their disc, across fat
EDGE_HU = 40.0  # above nerve root (about 30) and below disc density: a rim voxel mostly fragment
EDGE_MM = 2.0  # the scanner's blur (about 1 mm FWHM) and a voxel; 1.0 left patient 31's root 1.46 mm off
MIN_VOLUME_MM3 = 100.0  # smaller finds were partial-volume specks in the phantom's canal
SEARCH_MM = 40.0  # half-size of the box around the disc centre


@dataclass(frozen=True)
class Herniation:
    level: str
    mask_ijk: np.ndarray  # (N, 3) voxel indices on the CT grid
    volume_mm3: float
    centroid_lps_mm: np.ndarray
    side: str  # "left", "right" or "central" (centroid within 5 mm of the disc centre's x)


def find_herniations(
    ct: Volume,
    labels: np.ndarray,
    bone: np.ndarray,
    discs: dict[str, tuple[int, np.ndarray, np.ndarray, np.ndarray]],
) -> list[Herniation]:
    """Herniations next to each disc, on the CT's grid.

    `discs`: level -> (the disc's id in `labels`, its centre and its posterior margin in LPS mm,
    its unit normal).
    """
    spacing = np.asarray(ct.spacing_mm, dtype=float)
    found = []
    for level, (disc_id, centre, margin, normal) in discs.items():
        normal = np.asarray(normal, dtype=float)
        centre = np.asarray(centre, dtype=float)
        posterior = np.asarray(margin, dtype=float) - centre
        margin_mm = float(np.linalg.norm(posterior))
        posterior /= margin_mm
        centre_ijk = ct.lps_to_ijk(centre)
        half = np.ceil(SEARCH_MM / spacing).astype(int)
        lo = np.clip(np.round(centre_ijk).astype(int) - half, 0, np.asarray(ct.shape_ijk))
        hi = np.clip(np.round(centre_ijk).astype(int) + half + 1, 0, np.asarray(ct.shape_ijk))
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        region_labels = labels[box]
        disc = region_labels == disc_id
        if not disc.any():
            continue
        other_discs = np.isin(region_labels, [d for d, _, _, _ in discs.values() if d != disc_id])
        clipped = np.minimum(np.asarray(ct.voxels[box], dtype=np.float32), HIGH_HU)
        hu = ndimage.gaussian_filter(clipped, SMOOTHING_MM / spacing)
        # Disc density after smoothing, and not bone itself (an unlabelled osteophyte is bone, not disc).
        raw = np.asarray(ct.voxels[box], dtype=np.float32)
        dense = (hu >= LOW_HU) & (raw < BONE_HU)
        near_bone = ndimage.distance_transform_edt(~bone[box], sampling=spacing) <= BONE_MARGIN_MM
        # The disc space: the estimated disc in front of its posterior margin (an estimate that bulges
        # into a fragment must not hide it).
        grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), -1)
        relative = ct.ijk_to_lps(grid.reshape(-1, 3).astype(float)) - centre
        behind_mm = (relative @ posterior).reshape(disc.shape)
        along_mm = (relative @ normal).reshape(disc.shape)
        disc &= behind_mm <= margin_mm - 1.0
        if not disc.any():
            continue
        from_disc = ndimage.distance_transform_edt(~disc, sampling=spacing)
        soft = dense & ~near_bone & ~other_discs
        candidate = soft & (from_disc > BULGE_MM)
        # Behind the middle of the disc, within REACH_MM of its posterior margin and MIGRATION_MM of its
        # plane (beyond that, the next level's box looks).
        candidate &= (behind_mm > margin_mm - FORAMEN_MM) & (behind_mm <= margin_mm + REACH_MM)
        candidate &= np.abs(along_mm) <= MIGRATION_MM
        # Attached: a fragment touches its disc's bulge zone or lies within ATTACH_MM of the disc.
        parts, n_parts = ndimage.label(candidate, np.ones((3, 3, 3), bool))
        if n_parts == 0:
            continue
        nearest_mm = ndimage.minimum(from_disc, parts, index=np.arange(1, n_parts + 1))
        # Each fragment is labelled with its attachment: the soft tissue of the bulge zone touching it.
        seeds = soft & (from_disc <= BULGE_MM) & ~disc
        whole, _ = ndimage.label(candidate | seeds, np.ones((3, 3, 3), bool))
        voxel_mm3 = float(np.prod(spacing))
        for n in range(1, n_parts + 1):
            outside = parts == n
            if outside.sum() * voxel_mm3 < MIN_VOLUME_MM3 or nearest_mm[n - 1] > ATTACH_MM:
                continue
            attached_ids = np.unique(whole[outside])
            fragment = outside | (np.isin(whole, attached_ids) & seeds)
            # Its partial-volume rim, on the unsmoothed CT (module docstring).
            for _ in range(int(round(EDGE_MM / spacing.min()))):
                fragment |= ndimage.binary_dilation(fragment) & (raw >= EDGE_HU) & ~near_bone & ~disc & ~other_discs
            ijk = np.argwhere(fragment) + lo
            volume = len(ijk) * voxel_mm3
            centroid = ct.ijk_to_lps(ijk.mean(axis=0))
            offset = centroid[0] - centre[0]
            side = "central" if abs(offset) < 5.0 else ("left" if offset > 0 else "right")
            found.append(Herniation(level, ijk, volume, centroid, side))
    return found

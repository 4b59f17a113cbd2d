"""The vertebra labels found on the working grid (`bone.WORKING_SPACING_MM`) brought back onto the
CT's own grid: nearest-neighbour resampling within each label's box, then, on thin voxels, a
second peel of the blur halo by the half-maximum edge rule on the CT itself."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import (
    HALF_MAXIMUM_FRACTION,
    SMOOTHING_MM,
    below_edge_level,
    edge_window_voxels,
    eroded,
    label_boxes,
    mask_box,
    smooth_hu,
)
from kambin.imaging.resample import resample_like
from kambin.imaging.slabs import worker_count
from kambin.imaging.volume import Volume


def labels_on_ct_grid(labels_work: Volume, ct: Volume) -> np.ndarray:
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
    ones are peeled on their own grid instead (`peel_on_ct_grid`). VerSe, 1x1x3 mm: mean Dice
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


def nearest_on_ct_grid(labels_work: Volume, ct: Volume) -> np.ndarray:
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


def peel_on_ct_grid(labels: np.ndarray, ct: Volume, ids: list[int]) -> None:
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

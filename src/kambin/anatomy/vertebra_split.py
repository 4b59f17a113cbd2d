"""Split the bone around the column into vertebrae: markers between the discs, then a watershed.

Each segment of the column between two disc planes gets a marker in its body's core. A
marker-controlled watershed (Beucher and Meyer 1993; SimpleITK's MorphologicalWatershedFromMarkers)
on the inverted smoothed CT floods the bone from those markers: bright bone is low ground, so a
body floods its own pedicles and posterior elements before it can cross a disc or a facet-joint
gap (both darker than bone), which is where the boundaries fall. Bone far from the midline (ribs,
ilia) gets its own "other" marker so that it is cut off at the costovertebral and sacro-iliac
joints instead of being claimed by a vertebra. The cancellous interior that the threshold misses
is filled afterwards per vertebra, in sagittal planes only (an axial fill would close the spinal
canal, and a fill of all vertebrae together would close disc spaces that osteophytes enclose).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage as ndi

from kambin.anatomy.bone import fill_holes_in_planes
from kambin.anatomy.column import Column

# The marker is the body's whole cross-section near the column line, cortex included: a marker in
# the cancellous core alone loses the body's own cortex to a neighbour flooding along bright
# bone (osteophytes, bridging), because a watershed floods in order of level.
MARKER_HALF_WIDTH_MM = 16.0
MARKER_HALF_DEPTH_MM = 13.0
MARKER_DISC_MARGIN_MM = 3.0
OTHER_BONE_FROM_MIDLINE_MM = 62.0
MIN_SEGMENT_MM = 8.0
PLATEAU_HU = 350.0


def segment_index(column: Column, points_xyz: np.ndarray) -> np.ndarray:
    """Which column segment each point is in: 0 above the first (most cranial) disc, n below disc n-1."""
    index = np.zeros(points_xyz.shape[:-1], dtype=np.int16)
    for disc in column.discs:
        index += (disc.signed_distance(points_xyz) < 0).astype(np.int16)
    return index


def split_vertebrae(
    smoothed_hu: np.ndarray, bone: np.ndarray, column: Column, offset_xyz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Label each vertebra's bone on a crop of the working grid.

    `offset_xyz` is the crop's corner in the full working grid (the column is in full-grid
    coordinates). Returns labels (0 none, 1 + segment index per vertebra, cranial first) and an
    array `other` (bone cut off as ribs/ilia).
    """
    nx, ny, nz = bone.shape
    z_full = np.arange(nz) + offset_xyz[2]
    x_mid = np.interp(z_full, np.arange(len(column.x_of_z)), column.x_of_z) - offset_xyz[0]
    y_mid = np.interp(z_full, np.arange(len(column.y_of_z)), column.y_of_z) - offset_xyz[1]
    filled = fill_holes_in_planes(bone, axis=0, min_extent=(4, 10))

    xx = np.arange(nx)[:, None, None]
    yy = np.arange(ny)[None, :, None]
    zz = np.arange(nz)[None, None, :]
    near_axis = (np.abs(xx - x_mid[None, None, :]) <= MARKER_HALF_WIDTH_MM) & (
        np.abs(yy - y_mid[None, None, :]) <= MARKER_HALF_DEPTH_MM
    )
    in_column = (z_full >= column.z_low + 2) & (z_full <= column.z_high - 2)
    markers = np.zeros(bone.shape, dtype=np.uint16)
    core = near_axis & in_column[None, None, :] & filled
    points = np.stack(np.nonzero(core), axis=1).astype(float) + offset_xyz
    segment = segment_index(column, points)
    clear = np.ones(len(points), dtype=bool)
    for disc in column.discs:
        clear &= np.abs(disc.signed_distance(points)) >= MARKER_DISC_MARGIN_MM
    count = len(column.discs) + 1
    core_index = tuple(np.stack(np.nonzero(core), axis=0)[:, clear])
    markers[core_index] = segment[clear] + 1
    sizes = np.bincount(markers.ravel(), minlength=count + 1)
    lateral = np.abs(xx - x_mid[None, None, :]) > OTHER_BONE_FROM_MIDLINE_MM
    other_label = count + 1
    markers[bone & np.broadcast_to(lateral, bone.shape)] = other_label

    # Bone brighter than PLATEAU_HU is one flat level, flooded breadth-first (a geodesic Voronoi
    # split from the markers); darker voxels (joint gaps, discs, cancellous bone) are higher ground.
    relief = np.where(filled, -np.clip(smoothed_hu, -1000, PLATEAU_HU), 3000).astype(np.float32)
    watershed = sitk.MorphologicalWatershedFromMarkers(
        sitk.GetImageFromArray(relief), sitk.GetImageFromArray(markers), markWatershedLine=False, fullyConnected=False
    )
    labels = sitk.GetArrayFromImage(watershed).astype(np.uint16)
    labels[~filled] = 0
    other = labels == other_label
    labels[other] = 0
    out = np.zeros(bone.shape, dtype=np.uint16)
    for n in range(1, count + 1):
        if sizes[n] < 200:
            continue
        mask = labels == n
        pieces, _ = ndi.label(mask)
        keep = np.unique(pieces[(markers == n) & mask])
        mask = np.isin(pieces, keep[keep > 0])
        box = ndi.find_objects(mask.astype(np.uint8))[0]
        sub = fill_holes_in_planes(mask[box], axis=0) & (out[box] == 0) & ~other[box]
        out[box][sub] = n
    del zz
    return out, other

"""Split the bone around the column into vertebrae: markers between the discs, then a geodesic split.

Each segment of the column between two disc planes gets a marker in its body's core (and a
vertebra cut by the crop beyond the end disc, the bone past it). Every bone voxel then goes to the
marker nearest to it along a path inside the bone where each millimetre costs more the deeper the
narrow dark gap it crosses (the black top-hat of the CT: joint spaces between two bright cortices,
and discs): Dijkstra (1959) from all markers at once, a geodesic Voronoi partition with a cost
(cf. Criminisi et al., GeoS, ECCV 2008), so the boundaries fall at the facet joints and discs and
each vertebra reaches its arch along its own cortex. Bone far from the midline (ribs, ilia) gets
its own "other" marker so that it is cut off at the costovertebral and sacro-iliac joints instead
of being claimed by a vertebra. The cancellous interior that the threshold misses is filled
afterwards per vertebra: in sagittal planes everywhere, and in axial and coronal planes inside the
body's core box only (an axial fill elsewhere would close the spinal canal, a coronal one the
interlaminar window, and a fill of all vertebrae together would close disc spaces that
osteophytes enclose); on thick slices also the interiors a 3 mm slice leaves open
(`bone.fill_thick_slice_interior`).

The split replaced a marker-controlled watershed over the same relief (Beucher and Meyer 1993;
SimpleITK's MorphologicalWatershedFromMarkers). A watershed floods in order of relief level, so a
neighbour crosses a joint whose level is below that of a lamina's cancellous interior and takes the
whole arch; the cumulative cost does not. Ten phantoms (thin voxels): mean Dice 0.929 -> 0.932, the
worst vertebra 0.80 -> 0.85. VerSe (1x1x3 mm), with the two passes below and the thick-slice
extent rules of `segmentation`: mean Dice 0.848 -> 0.856, the worst vertebra 0.799 -> 0.821 (the
arches of the vertebrae cut by the crop no longer flooded into their neighbours').

Where processes of two vertebrae touch without a dark joint space between them (an articular
process's tip against the bone above, an inferior articular process on the lamina below), the
geodesic split runs first through the bone without the dim voxels of its rim
(`split_through_bright_bone`).

A second rule for such contacts, which gave a piece of a vertebra's label that hung on its marked
part by a thin neck (1 mm erosion) to the neighbour it adjoined most broadly, was removed: on the
synthetic patients it had been tuned on, the contacts were the phantom's own fused articular
processes (see `kambin.phantom.vertebra.NEIGHBOUR_CLEARANCE_MM`); with them gone it changed no
vertebra of the ten bench phantoms by 0.001 Dice, and on bench_anatomy's seed 6 it gave a whole
superior articular process to the vertebra above, across its joint (the joint's blurred space is
bone by the threshold, so the neighbour adjoined the process along the whole joint surface).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from kambin.anatomy.bone import (
    below_edge_level,
    edge_window_voxels,
    eroded,
    fill_holes_in_planes,
    fill_thick_slice_interior,
    mask_box,
)
from kambin.anatomy.column import Column, Disc
from kambin.imaging.slabs import filter_in_slabs

# The marker is the body's whole cross-section near the column line, cortex included: a marker in
# the cancellous core alone lost the body's own cortex to a neighbour flooding along bright bone
# (osteophytes, bridging) under the watershed this split replaced; it also starts the geodesic
# split's fronts at the body's surface rather than its centre.
MARKER_HALF_WIDTH_MM = 16.0
MARKER_HALF_DEPTH_MM = 13.0
MARKER_DISC_MARGIN_MM = 3.0
#: Bone this far from the midline (mm) is rib or ilium: beyond the lumbar transverse processes'
#: tips (L3, the longest: 43-48 mm) and the sacral ala (50-60 mm). Closer (52 mm) helps thoracic
#: crops, where rib necks pass the transverse processes, but at 47 mm the ala is lost to the ilium.
OTHER_BONE_FROM_MIDLINE_MM = 62.0
#: A segment is labelled when its bone is at least this thick a slab of a vertebra (mm).
MIN_SEGMENT_MM = 8.0
#: An end segment with a core marker smaller than this (voxels, 1 mm^3: a fifth of a lumbar body)
#: is a vertebra cut by the crop; its bone beyond END_MARGIN_MM past the end disc is its marker.
END_SEGMENT_MIN_MARKER = 3000
#: Articular processes reach 5-10 mm past their disc's level (Panjabi et al., Spine 18(10), 1993):
#: beyond 12 mm, bone past the end disc is the cut vertebra's own.
END_MARGIN_MM = 12.0
#: ... within this distance of the midline (mm): the arch's laminae and articular processes, not
#: the ilia or ribs beside it (the transverse processes' tips are left to the flood).
END_HALF_WIDTH_MM = 35.0
#: How far below the column's solid run the lowest segment's marker reaches (mm): an S1 body.
LOWEST_MARKER_EXTRA_MM = 30.0
#: Widest joint space that counts as a boundary, in mm: facet and sacroiliac joint spaces are
#: 1-4 mm wide, plus blur (Standring, Gray's Anatomy); a disc (8-12 mm) is dark anyway.
JOINT_GAP_MM = 7.0


#: Extra cost of a millimetre of path per 1000 HU of gap depth: a joint space 500-1500 HU deep
#: (between 1000+ HU cortices) costs 75-225 mm of bone per millimetre crossed, about the length of
#: a whole arch, while a lamina's cancellous interior is bypassed along its cortex. Measured on
#: phantoms: 20 (mean Dice 0.898 on seeds 0, 2, 6), 60 (0.914), 150 (0.922), 400 (0.922).
GAP_COST_PER_KHU = 150.0


def geodesic_split(markers: np.ndarray, region: np.ndarray, gap_depth: np.ndarray) -> np.ndarray:
    """Label each voxel of `region` with the marker nearest to it in cost-weighted geodesic distance.

    Dijkstra (1959) on the 6-connected voxel graph of `region`, from all marker voxels at once
    (scipy's `dijkstra` with `min_only`, which also returns the source each voxel was reached
    from); a step costs 1 mm times the mean of its two voxels' costs, 1 + GAP_COST_PER_KHU * the
    gap depth in kHU. Voxels of `region` that no marker reaches are 0.

    Marker voxels whose neighbours in the region all carry markers are left out of the graph (they
    keep their own marker): a shortest path through one could start at its neighbour, itself a
    source at distance 0, so the distances are the same; the second pass of
    `split_through_bright_bone`, whose markers are most of the region, builds a graph a tenth the size.
    """
    marked = region & (markers > 0)
    enclosed = marked & eroded(marked | ~region)  # (at the array's faces: kept in the graph)
    in_graph = region & ~enclosed
    index = np.full(region.shape, -1, dtype=np.int32)  # C order: written through its ravel
    nodes = np.flatnonzero(in_graph)
    index.ravel()[nodes] = np.arange(nodes.size, dtype=np.int32)
    cost = 1.0 + GAP_COST_PER_KHU * np.clip(gap_depth.ravel()[nodes], 0, 2000) / 1000.0
    rows, cols, weights = [], [], []
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis] = slice(0, -1)
        b[axis] = slice(1, None)
        both = in_graph[tuple(a)] & in_graph[tuple(b)]
        ia, ib = index[tuple(a)][both], index[tuple(b)][both]
        rows.append(ia)
        cols.append(ib)
        weights.append(0.5 * (cost[ia] + cost[ib]))
    graph = csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(nodes.size, nodes.size)
    )
    marker_values = markers.ravel()[nodes]
    sources = np.flatnonzero(marker_values > 0)
    _, _, source = dijkstra(graph, directed=False, indices=sources, return_predecessors=True, min_only=True)
    out = np.zeros(region.shape, dtype=np.uint16)  # C order: written through its ravel below
    out[enclosed] = markers[enclosed]
    reached = source >= 0
    out.ravel()[nodes[reached]] = marker_values[source[reached]]
    return out


def _beyond_plane(disc: Disc, sign: float, shape: tuple[int, ...], offset_xyz: np.ndarray) -> np.ndarray:
    """Voxels more than END_MARGIN_MM beyond `disc`'s own plane (cranial for `sign` +1, caudal for -1).

    The axial sense alone misses a cut vertebra's arch behind a steeply tilted end disc: the
    lumbosacral disc lies 30-45 degrees from the axial plane (lumbosacral angle; Standring, Gray's
    Anatomy), so S1's superior articular processes, laminae and ala, behind it, rise to the level of
    L5's body, and with S1's body below the field of view nothing else holds them (VerSe
    sub-verse006: L5 Dice 0.722 -> 0.797, L4 0.871 -> 0.882; sub-verse007 unchanged). The upper
    vertebra's own arch stays above that plane (sub-verse006: 0.1 % of L5 more than 12 mm below it).
    """
    x, y, z = (
        np.arange(size, dtype=np.float32) + np.float32(corner - centre)
        for size, corner, centre in zip(shape, offset_xyz, disc.centre_xyz, strict=True)
    )
    normal = disc.normal_xyz.astype(np.float32)
    distance = x[:, None, None] * normal[0] + y[None, :, None] * normal[1] + z[None, None, :] * normal[2]
    return sign * distance > END_MARGIN_MM


#: Depth (mm) of the bone's rim whose dim voxels the first geodesic pass leaves out
#: (`split_through_bright_bone`): a contact between two bones that the CT does not resolve as a dark
#: gap lies at their surfaces, a joint opening to the soft tissue at its margins. VerSe (1x1x3 mm),
#: mean Dice 0.8534 with one pass, 0.856 with two. It was tuned on ten phantoms (bench_segmentation's
#: SYNTHETIC_CASES: mean 0.950 -> 0.952, worst vertebra 0.873 -> 0.884 with 2 mm; a plain 1 mm
#: erosion 0.941, the thin laminae breaking apart) whose contacts were the phantom's own fused
#: articular processes (`kambin.phantom.vertebra.NEIGHBOUR_CLEARANCE_MM`); on the phantoms as they are
#: now (seeds 0-2), one pass gives seeds 0 and 2 the same Dice to 0.001 and seed 1 one SAP tip to
#: the vertebra above (L1 0.981 -> 0.978).
CONTACT_RIM_MM = 2
#: Dim: below half-way from soft tissue to the brightest bone within `bone.EDGE_WINDOW_MM`, the
#: half-maximum rule (a voxel that straddles a blurred gap between two cortices reads below it;
#: cf. `bone.HALF_MAXIMUM_FRACTION`).
CONTACT_DIM_FRACTION = 0.5


def split_through_bright_bone(
    markers: np.ndarray, region: np.ndarray, hu: np.ndarray, gap_depth: np.ndarray
) -> np.ndarray:
    """`geodesic_split` in two passes: first through the bone without its dim rim, then the rest.

    Processes of neighbouring vertebrae touch where the CT does not resolve their joint space: an
    articular process's tip against the pedicle or pars above it, an inferior articular process on
    the lamina below, shingled laminae (Standring, Gray's Anatomy). Such a contact is a few voxels
    of partial volume at both bones' surfaces, dimmer than their cortices but brighter than the
    threshold; a grey closing over a cube does not see it as a gap there, because the cube reaches
    the soft tissue beside it. The first pass leaves out the voxels within CONTACT_RIM_MM of the
    region's surface that are dim (CONTACT_DIM_FRACTION), so that a vertebra reaches its own
    processes along their cortices before a neighbour enters them through such a contact; the
    second assigns the voxels left out (and any piece the first could not reach) to the nearest
    label of the first.
    """
    dim = below_edge_level(hu, edge_window_voxels(1.0), CONTACT_DIM_FRACTION)  # the working grid's 1 mm
    inner = region
    for _ in range(CONTACT_RIM_MM):
        inner = eroded(inner)
    rim = region & ~inner
    bright = region & ~(rim & dim)
    del rim, dim
    first = geodesic_split(np.where(bright, markers, 0).astype(markers.dtype), bright, gap_depth)
    unreached = (markers > 0) & (first == 0)
    first[unreached] = markers[unreached]
    return geodesic_split(first, region, gap_depth)


def segment_index(column: Column, points_xyz: np.ndarray) -> np.ndarray:
    """Which column segment each point is in: 0 above the first (most cranial) disc, n below disc n-1."""
    index = np.zeros(points_xyz.shape[:-1], dtype=np.int16)
    for disc in column.discs:
        index += (disc.signed_distance(points_xyz) < 0).astype(np.int16)
    return index


def split_vertebrae(
    hu: np.ndarray, bone: np.ndarray, column: Column, offset_xyz: np.ndarray, thin_voxels: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Label each vertebra's bone on a crop of the working grid.

    `hu`: the CT on the crop (unsmoothed for a CT of `thin_voxels`, whose joint spaces it shows;
    smoothed otherwise). `offset_xyz` is the crop's corner in the full working grid (the column is
    in full-grid coordinates). Thick slices (not `thin_voxels`) also get
    `bone.fill_thick_slice_interior`. Returns labels (0 none, 1 + segment index per vertebra, cranial
    first) and an array `other` (bone cut off as ribs/ilia).
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
    # The column's solid run often stops at the sacrum's top, where the sacrum bends back; the
    # lowest segment's marker goes on below it (bone near the axis under the lowest disc),
    # or the vertebra above floods the whole sacrum.
    below = (z_full < column.z_low + 2) & (z_full >= column.z_low - LOWEST_MARKER_EXTRA_MM)
    core |= near_axis & below[None, None, :] & filled
    points = np.stack(np.nonzero(core), axis=1).astype(float) + offset_xyz
    segment = segment_index(column, points)
    lowest = len(column.discs)
    keep = (segment == lowest) | in_column[np.round(points[:, 2] - offset_xyz[2]).astype(int)]
    core_points = np.stack(np.nonzero(core), axis=0)[:, keep]
    core = np.zeros_like(core)
    core[tuple(core_points)] = True
    points, segment = points[keep], segment[keep]
    clear = np.ones(len(points), dtype=bool)
    for disc in column.discs:
        clear &= np.abs(disc.signed_distance(points)) >= MARKER_DISC_MARGIN_MM
    count = len(column.discs) + 1
    core_index = tuple(np.stack(np.nonzero(core), axis=0)[:, clear])
    markers[core_index] = segment[clear] + 1
    sizes = np.bincount(markers.ravel(), minlength=count + 1)
    # A vertebra cut by the crop beyond the first or last disc has little or no body core in
    # view, so its arch (laminae, spinous and articular processes) would be flooded by the
    # vertebra next to it. All bone more than END_MARGIN_MM beyond that disc, in the axial sense
    # (posterior elements hang caudally) or beyond the disc's own plane (`_beyond_plane`), is
    # given to it as marker instead.
    if column.discs:
        for n, disc, sign in ((1, column.discs[0], 1.0), (count, column.discs[-1], -1.0)):
            if sizes[n] >= END_SEGMENT_MIN_MARKER:
                continue
            beyond = sign * (z_full - disc.centre_xyz[2]) > END_MARGIN_MM
            region = (beyond[None, None, :] | _beyond_plane(disc, sign, bone.shape, offset_xyz)) & (
                np.abs(xx - x_mid[None, None, :]) <= END_HALF_WIDTH_MM
            )
            markers[filled & region & (markers == 0)] = n
        sizes = np.bincount(markers.ravel(), minlength=count + 1)
    lateral = np.abs(xx - x_mid[None, None, :]) > OTHER_BONE_FROM_MIDLINE_MM
    other_label = count + 1
    markers[bone & np.broadcast_to(lateral, bone.shape)] = other_label

    # The depth of narrow dark gaps (the black top-hat: a grey closing over JOINT_GAP_MM minus the
    # CT) is what a path pays for; all other bone costs the same whatever its density, so the split
    # stops at joint spaces (facet, costovertebral, sacroiliac: a dark line between two bright
    # cortices) and at discs, where the boundaries between vertebrae are, and not where the bone is
    # dim (a cost by density would let the marker holding the brightest cortex take every bright
    # bone it touches).
    size = int(JOINT_GAP_MM) | 1
    gap_depth = filter_in_slabs(lambda part: ndi.grey_closing(part, size=(size, size, size)), hu, 2 * (size // 2)) - hu
    labels = split_through_bright_bone(markers, filled, hu, gap_depth)
    labels[~filled] = 0
    other = labels == other_label
    labels[other] = 0
    out = np.zeros(bone.shape, dtype=np.uint16)
    boxes = ndi.find_objects(labels)  # one pass for all: each vertebra's work is on its own box
    for n in range(1, min(count, len(boxes)) + 1):
        if sizes[n] < 200 or boxes[n - 1] is None:
            continue
        outer = boxes[n - 1]
        pieces, _ = ndi.label(labels[outer] == n)
        keep = np.unique(pieces[markers[outer] == n])
        mask = np.isin(pieces, keep[keep > 0])
        inner = mask_box(mask)
        if inner is None:
            continue
        box = tuple(slice(o.start + i.start, o.start + i.stop) for o, i in zip(outer, inner, strict=True))
        mask = mask[inner]
        # Sagittal fill everywhere; axial and coronal fills only in the body's core box, where no
        # canal or interlaminar window can be closed. A dark (osteoporotic, fatty) body interior
        # opens through the basivertebral foramen in the midline of its posterior wall, so it is not
        # a hole in the midline's sagittal or axial planes, but it is one in coronal planes. The
        # sagittal fill comes after the core's: a core fill that closes a gap in a thin endplate
        # also closes the body's sagittal ring, and the interior behind it is filled too (VerSe
        # sub-verse006 L4, cancellous interior left hollow: Dice 0.854 -> 0.871; mean 0.801 ->
        # 0.804; ten phantoms 0.9503 -> 0.9504).
        core_fill = fill_holes_in_planes(mask, axis=2) | fill_holes_in_planes(mask, axis=1)
        fill = fill_holes_in_planes(mask | (core_fill & near_axis[box]), axis=0)
        if not thin_voxels:  # `bone.THICK_SLICE_CLOSING_MM`
            fill = fill_thick_slice_interior(fill, 1.0)  # the working grid's 1 mm
        sub = fill & (out[box] == 0) & ~other[box]
        out[box][sub] = n
    del zz
    return out, other

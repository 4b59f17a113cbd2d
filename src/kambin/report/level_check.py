"""The level-check picture: a sagittal and a coronal view of the spine with each vertebra's name on it.

Wrong-level surgery is a never-event. Whenever kambin names vertebrae on a CT it writes this picture
beside the label map, and the plan report shows it first, so that a surgeon can count the vertebrae
on the image and check the names against the count in seconds, before trusting anything built on them.

The picture: two thick-slab maximum intensity projections (MIPs) of the CT in a bone window, side by
side at the same scale, superior at the top (radiological convention):

- sagittal, anterior on the image's left: the CT's maximum along x over +-15 mm about the spine's
  midline (the median x of the vertebra labels' voxels, followed slice by slice, so a scoliotic
  spine stays in the slab);
- coronal, the patient's right on the image's left: the CT's maximum along y over a slab through the
  vertebral bodies, from just in front of their anterior surface back one body depth (35 mm).

Each vertebra label (`vertebrae_*`, unnamed `vertebra_*`, `sacrum`) is outlined in a colour that
differs from its neighbours', from the label's projection in the same slab, and its name is written
on its body: "L4", "S1", "sacrum", or "vertebra 3" for a vertebra found but not named (the third
from the top in view; never a level name). A header says how the levels were named, lists the names
cranial to caudal, and carries the disclaimer.

Everything is computed on an LPS-aligned grid (axis 0 = +L, 1 = +P, 2 = +S), so the picture does not
depend on how the CT's voxels are stored (sagittal or axial acquisitions, flipped axes).
"""

from __future__ import annotations

import itertools
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from kambin.anatomy.labels import LABELS, label_by_id
from kambin.atomic import atomic_file
from kambin.errors import InvalidInputError
from kambin.imaging.resample import resample_axis_aligned, resample_like
from kambin.imaging.volume import Volume

DISCLAIMER = "Research and training use only - not a medical device"

WINDOW_LEVEL_HU = 400.0  # bone window
WINDOW_WIDTH_HU = 1500.0
AIR_HU = -1024.0
#: Sagittal slab: +-15 mm about the midline holds the vertebral bodies' middle third, the canal and
#: the spinous processes (a lumbar body is about 45 mm wide, Panjabi et al., Spine 1992;17(3):299-306).
SAGITTAL_HALF_SLAB_MM = 15.0
#: Coronal slab: from 3 mm in front of the bodies' anterior surface back one body depth (about 35 mm,
#: Panjabi 1992). A slab anchored on the bodies' front, slice by slice, cuts every body through its
#: middle whatever the lordosis; a flat slab about one median y would graze L1 and S1 while cutting L3,
#: whose front lies 20 mm or more anterior to theirs in a lordotic spine.
CORONAL_FRONT_MARGIN_MM = 3.0
BODY_DEPTH_MM = 35.0
#: Window over which the bodies' front is taken as the anterior-most vertebra voxel (a running
#: minimum): longer than a disc's height (about 10 mm, Panjabi 1992), so that at a disc's level, where
#: only posterior elements are labelled, the neighbouring bodies' front still sets the slab.
FRONT_WINDOW_MM = 16.0
MIDLINE_WINDOW_MM = 20.0  # smoothing of the midline, slice by slice (a motion segment is ~34 mm)
#: Context kept around the labelled vertebrae: lateral (iliac crests, rib heads), front and back,
#: and above and below (so that an unlabelled vertebra next to the labelled ones shows).
MARGIN_LPS_MM = (80.0, 40.0, 60.0)
MAX_GRID_SIZE = 400  # voxels along the longest axis of the working grid, for speed
#: Display scale: about 900 px for the views' height, within 1.5 to 4 px per mm.
VIEW_HEIGHT_PX = 900.0
PX_PER_MM_RANGE = (1.5, 4.0)

# Neighbours never share a colour (cycle of six, ordered cranial to caudal); RGB, bright on bone grey.
PALETTE_RGB = (
    (255, 215, 0),
    (0, 200, 255),
    (255, 80, 200),
    (90, 255, 90),
    (255, 140, 0),
    (150, 150, 255),
)
BACKGROUND_RGB = (18, 18, 18)
TEXT_RGB = (245, 245, 245)
NOTE_RGB = (255, 220, 120)
DIM_RGB = (170, 170, 170)
FONT = cv2.FONT_HERSHEY_DUPLEX
TINT_ALPHA = 0.12

_VERTEBRA_IDS = tuple(
    lab.id for lab in LABELS if lab.name.startswith(("vertebrae_", "vertebra_")) or lab.name == "sacrum"
)
if max(_VERTEBRA_IDS) >= 255:
    raise RuntimeError("the vertebra lookup table assumes registry ids below 255")  # a programming error
#: The vertebra ids as runs of consecutive ids, (first, last): sacrum to C1, then the unnamed ones.
_VERTEBRA_ID_RUNS = tuple(
    (int(run[0]), int(run[-1]))
    for run in np.split(np.array(sorted(_VERTEBRA_IDS)), np.flatnonzero(np.diff(sorted(_VERTEBRA_IDS)) > 1) + 1)
)


@dataclass(frozen=True)
class _Vertebra:
    label_id: int
    name: str  # as written on the picture: "L4", "sacrum", "vertebra 3"
    colour_rgb: tuple[int, int, int]


@dataclass(frozen=True)
class _View:
    """One projection, rows superior to inferior, in working-grid voxels (isotropic)."""

    title: str
    left: str  # orientation letters at the image's left and right edges
    right: str
    mip_hu: np.ndarray  # (rows, cols)
    masks: dict[int, np.ndarray]  # label id -> (rows, cols) bool projection in the slab
    anchors: dict[int, tuple[float, float]]  # label id -> (col, row) where its name goes


def level_check_image(ct: Volume, labels: Volume, identification: str) -> np.ndarray:
    """The level-check picture of `ct` with the vertebra names of `labels` (on the CT's grid), RGB uint8.

    A surgeon counts the vertebrae on the sagittal and coronal views and checks each name against the
    count before anything planned on them is trusted. `identification` says how the levels were named
    ("sacrum in view", "user hint --lowest L5", "not named: ...") and heads the picture.

    Raises InvalidInputError if the label map is not on the CT's grid or holds no vertebra label.
    """
    if not labels.same_grid(ct):
        raise InvalidInputError(
            f"the label map (shape {labels.shape_ijk}) is not on the CT's grid (shape {ct.shape_ijk}); "
            "resample it onto the CT first (kambin.imaging.resample.resample_like(labels, ct, 'nearest'))"
        )
    ct_lps, labels_lps = _aligned_crop(ct, labels)
    vertebrae, sagittal, coronal = _views(ct_lps, labels_lps)
    return _compose(vertebrae, sagittal, coronal, identification, float(ct_lps.spacing_mm[0]))


def write_level_check_png(ct: Volume, labels: Volume, identification: str, path: str | os.PathLike) -> Path:
    """Write the level-check picture (see `level_check_image`) as a PNG at `path`, atomically.

    The picture is made before anything is written, and written under a temporary name that replaces
    `path` only when complete: a failure leaves no file, or the previous one, behind.
    """
    image = level_check_image(ct, labels, identification)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
    if not ok:
        raise RuntimeError("PNG encoding failed")  # an OpenCV failure, not a user error
    with atomic_file(path, suffix=".png") as temporary:
        temporary.write_bytes(encoded.tobytes())
    return Path(path)


# --- the working grid -------------------------------------------------------------------------


def _vertebra_mask(voxels: np.ndarray) -> np.ndarray:
    """True at vertebra-label voxels, whatever the label map's integer or float type."""
    if voxels.dtype != np.uint8:
        voxels = np.clip(voxels, 0, 255).astype(np.uint8)  # 255 and beyond: no registry vertebra
    mask = None
    for first, last in _VERTEBRA_ID_RUNS:  # two comparisons a run: twice as fast as a lookup table
        run = (voxels - np.uint8(first)) <= np.uint8(last - first)  # uint8 wraps around below `first`
        mask = run if mask is None else mask | run
    return mask


def _aligned_crop(ct: Volume, labels: Volume) -> tuple[Volume, Volume]:
    """CT and labels on an LPS-aligned isotropic grid around the labelled vertebrae (with margins).

    Cropping in voxel indices before resampling keeps it fast (the resampling dominates); the box is
    the vertebrae's LPS bounding box with `MARGIN_LPS_MM`, so it is the same box whatever the storage order.
    """
    mask = _vertebra_mask(np.asarray(labels.voxels))
    across_k = mask.any(axis=2)
    if not across_k.any():
        raise InvalidInputError(
            "the label map holds no vertebra label (vertebrae_*, vertebra_*, sacrum); label the vertebrae "
            "first (`kambin segment`) and pass that label map"
        )
    along_k = mask.any(axis=(0, 1))
    occupied = (across_k.any(axis=1), across_k.any(axis=0), along_k)
    low_ijk = [int(np.argmax(o)) for o in occupied]
    high_ijk = [len(o) - 1 - int(np.argmax(o[::-1])) for o in occupied]
    corners = np.array(list(itertools.product(*zip(low_ijk, high_ijk, strict=True))), dtype=float)
    lps = labels.ijk_to_lps(corners)
    margin = np.asarray(MARGIN_LPS_MM)
    box_low, box_high = lps.min(axis=0) - margin, lps.max(axis=0) + margin
    box = np.array(list(itertools.product(*zip(box_low, box_high, strict=True))))
    ijk = ct.lps_to_ijk(box)
    shape = np.asarray(ct.shape_ijk)
    start = np.clip(np.floor(ijk.min(axis=0) + 1e-6), 0, shape - 1).astype(int)
    stop = np.clip(np.ceil(ijk.max(axis=0) - 1e-6), 0, shape - 1).astype(int) + 1
    window = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    voxel_to_lps = ct.voxel_to_lps.copy()
    voxel_to_lps[:3, 3] = ct.ijk_to_lps(start.astype(float))
    ct_crop = Volume(voxels=np.asarray(ct.voxels)[window], voxel_to_lps=voxel_to_lps, modality=ct.modality)
    labels_crop = Volume(voxels=np.asarray(labels.voxels)[window], voxel_to_lps=voxel_to_lps, modality="SEG")
    extent_low, extent_high = ct_crop.extent_lps_mm()
    spacing = max(1.0, float(ct.spacing_mm.min()), float((extent_high - extent_low).max()) / MAX_GRID_SIZE)
    ct_lps = resample_axis_aligned(ct_crop, spacing, "linear", fill_value=AIR_HU)
    return ct_lps, resample_like(labels_crop, ct_lps, "nearest")


# --- the two views ----------------------------------------------------------------------------


def _views(ct_lps: Volume, labels_lps: Volume) -> tuple[list[_Vertebra], _View, _View]:
    """The vertebrae (cranial first, each with its colour) and the sagittal and coronal slab MIPs."""
    spacing = float(ct_lps.spacing_mm[0])
    hu = np.asarray(ct_lps.voxels)
    ids_volume = np.asarray(labels_lps.voxels)
    mask = _vertebra_mask(ids_volume)
    x, y, z = np.nonzero(mask)
    if len(x) == 0:  # every vertebra voxel lost in resampling (a label map of slivers)
        raise InvalidInputError("the label map's vertebra labels are too thin to picture; check the label map")
    ids = ids_volume[x, y, z].astype(np.intp)
    n_z = hu.shape[2]
    counts = np.bincount(ids)
    present = np.flatnonzero(counts)
    centroid_z = np.bincount(ids, weights=z)[present] / counts[present]
    order = present[np.argsort(-centroid_z, kind="stable")]  # cranial first
    vertebrae = [
        _Vertebra(int(i), _display_name(label_by_id(int(i)).name), PALETTE_RGB[n % len(PALETTE_RGB)])
        for n, i in enumerate(order)
    ]

    # Sagittal slab: about the midline, slice by slice (median x), smoothed along z.
    midline = _smooth(_per_slice_quantile(z, x, n_z, 0.5), MIDLINE_WINDOW_MM / spacing, "median")
    half = SAGITTAL_HALF_SLAB_MM / spacing
    x_low, x_high = np.round(midline - half).astype(int), np.round(midline + half).astype(int)
    # Coronal slab: the bodies' front (anterior-most vertebra voxel, running minimum over a disc's
    # height), back one body depth.
    front = _smooth(_per_slice_quantile(z, y, n_z, 0.0), FRONT_WINDOW_MM / spacing, "minimum")
    front = _smooth(front, 0.5 * FRONT_WINDOW_MM / spacing, "mean")
    y_low = np.round(front - CORONAL_FRONT_MARGIN_MM / spacing).astype(int)
    y_high = np.round(front + BODY_DEPTH_MM / spacing).astype(int)

    sagittal_hu, sagittal_slab = _slab_mip(hu, 0, x_low, x_high)
    coronal_hu, coronal_slab = _slab_mip(hu, 1, y_low, y_high)
    sagittal_masks, coronal_masks, sagittal_anchors, coronal_anchors = {}, {}, {}, {}
    cols_y = np.arange(hu.shape[1])[:, None]
    body_band = (cols_y >= y_low[None, :]) & (cols_y <= y_high[None, :])  # (y, z)
    for vertebra in vertebrae:
        mine = ids == vertebra.label_id
        z_range = (int(z[mine].min()), int(z[mine].max()) + 1)
        sagittal = _slab_any(ids_volume, vertebra.label_id, 0, sagittal_slab, z_range)  # (y, z)
        coronal = _slab_any(ids_volume, vertebra.label_id, 1, coronal_slab, z_range)  # (x, z)
        sagittal_masks[vertebra.label_id] = _to_view(sagittal)
        coronal_masks[vertebra.label_id] = _to_view(coronal)
        # The name goes on the body: in the sagittal view the part of the projection in the body band.
        # A label with nothing in a slab (a stray fragment off the spine) is named where its voxels are.
        on_body = sagittal & body_band
        for anchors, projection, across in ((sagittal_anchors, on_body if on_body.any() else sagittal, y),
                                            (coronal_anchors, coronal, x)):
            if projection.any():
                anchors[vertebra.label_id] = _centroid(_to_view(projection))
            else:
                anchors[vertebra.label_id] = (float(across[mine].mean()), float(n_z - 1 - z[mine].mean()))
    sagittal_view = _View(
        "SAGITTAL  (anterior on the left)", "A", "P", _to_view(sagittal_hu), sagittal_masks, sagittal_anchors
    )
    coronal_view = _View(
        "CORONAL  (patient's right on the left)", "R", "L", _to_view(coronal_hu), coronal_masks, coronal_anchors
    )
    return vertebrae, sagittal_view, coronal_view


def _display_name(registry_name: str) -> str:
    """"vertebrae_L4" -> "L4"; "vertebra_3" -> "vertebra 3" (found, not named: never read as a level)."""
    if registry_name.startswith("vertebrae_"):
        return registry_name.removeprefix("vertebrae_")
    return registry_name.replace("_", " ")


def _per_slice_quantile(z: np.ndarray, values: np.ndarray, n_z: int, q: float) -> np.ndarray:
    """The q-quantile (0: minimum, 0.5: median) of `values` over the points of each z; NaN where none."""
    order = np.lexsort((values, z))
    counts = np.bincount(z, minlength=n_z)
    starts = np.cumsum(counts) - counts
    out = np.full(n_z, np.nan)
    has = counts > 0
    out[has] = values[order][starts[has] + np.round(q * (counts[has] - 1)).astype(int)]
    return out


def _smooth(values: np.ndarray, window_voxels: float, how: str) -> np.ndarray:
    """Fill the gaps (linear, constant beyond the ends), then a running median, minimum or mean."""
    index = np.arange(len(values))
    known = np.isfinite(values)
    filled = np.interp(index, index[known], values[known])
    size = max(1, int(round(window_voxels)))
    if how == "median":
        return ndimage.median_filter(filled, size=size, mode="nearest")
    if how == "minimum":
        return ndimage.minimum_filter1d(filled, size=size, mode="nearest")
    return ndimage.uniform_filter1d(filled, size=size, mode="nearest")


def _slab_mip(hu: np.ndarray, axis: int, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Maximum along `axis` (0 or 1) between low[z] and high[z] (inclusive, clipped to the grid).

    Returns the projection, indexed (the other in-plane axis, z), and the slab (its index range along
    `axis` and the in-slab mask, indexed (along, z)), to project the labels over the same voxels.
    """
    n = hu.shape[axis]
    low, high = np.clip(low, 0, n - 1), np.clip(high, 0, n - 1)
    start, stop = int(low.min()), int(high.max()) + 1
    along = np.arange(start, stop)[:, None]
    inside = (along >= low[None, :]) & (along <= high[None, :])
    sub, inside_3d = _slab_part(hu, axis, start, stop, inside)
    projection = np.where(inside_3d, sub, np.array(AIR_HU, dtype=hu.dtype)).max(axis=axis)
    return projection, (start, stop, inside)


def _slab_part(volume: np.ndarray, axis: int, start: int, stop: int, inside: np.ndarray,
               z_range: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The slab's part of `volume` (a view) and the in-slab mask shaped to broadcast against it."""
    z0, z1 = z_range if z_range is not None else (0, volume.shape[2])
    if axis == 0:
        return volume[start:stop, :, z0:z1], inside[:, None, z0:z1]
    return volume[:, start:stop, z0:z1], inside[None, :, z0:z1]


def _slab_any(ids_volume: np.ndarray, label_id: int, axis: int, slab: tuple, z_range: tuple[int, int]) -> np.ndarray:
    """Where the label lies in the slab, projected along `axis`: (the other in-plane axis, z)."""
    start, stop, inside = slab
    sub, inside_3d = _slab_part(ids_volume, axis, start, stop, inside, z_range)
    out = np.zeros((ids_volume.shape[1 - axis], ids_volume.shape[2]), dtype=bool)
    out[:, z_range[0] : z_range[1]] = ((sub == label_id) & inside_3d).any(axis=axis)
    return out


def _to_view(projection: np.ndarray) -> np.ndarray:
    """(horizontal axis, z) -> image rows superior to inferior, columns along the axis (anterior or
    patient's right first, as y and x increase toward posterior and left)."""
    return np.ascontiguousarray(projection.T[::-1])


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return float(cols.mean()), float(rows.mean())


# --- drawing ----------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """OpenCV's fonts draw ASCII only."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "replace").decode("ascii")


def _text_size(text: str, scale: float, thickness: int) -> tuple[int, int, int]:
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    return width, height, baseline


def _put(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, colour, thickness: int,
         halo: bool = False) -> None:
    if halo:
        cv2.putText(image, text, origin, FONT, scale, (0, 0, 0), thickness + 4, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


def _wrap(text: str, scale: float, thickness: int, width_px: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and _text_size(candidate, scale, thickness)[0] > width_px:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def _grey(hu: np.ndarray) -> np.ndarray:
    low = WINDOW_LEVEL_HU - WINDOW_WIDTH_HU / 2
    scaled = (hu.astype(np.float32) - low) * (255.0 / WINDOW_WIDTH_HU)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _draw_view(view: _View, vertebrae: list[_Vertebra], px_per_voxel: float, name_scale: float,
               name_thickness: int) -> np.ndarray:
    rows, cols = view.mip_hu.shape
    size = (max(1, round(cols * px_per_voxel)), max(1, round(rows * px_per_voxel)))
    grey = cv2.resize(_grey(view.mip_hu), size, interpolation=cv2.INTER_LINEAR)
    image = np.repeat(grey[:, :, None], 3, axis=2)
    outlines = []
    for vertebra in vertebrae:
        mask = cv2.resize(view.masks[vertebra.label_id].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        inside = mask > 0.5
        if not inside.any():
            continue
        colour = np.asarray(vertebra.colour_rgb, dtype=np.float32)
        image[inside] = ((1 - TINT_ALPHA) * image[inside] + TINT_ALPHA * colour).astype(np.uint8)
        contours, _ = cv2.findContours(inside.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outlines.append((contours, vertebra.colour_rgb))
    for contours, colour in outlines:
        cv2.drawContours(image, contours, -1, colour, 2, cv2.LINE_AA)
    # Names at their anchors, top to bottom, each pushed down below the one above if they would overlap.
    placed: list[tuple[int, int, int, int]] = []
    for vertebra in sorted(vertebrae, key=lambda v: view.anchors[v.label_id][1]):
        col, row = view.anchors[vertebra.label_id]
        width, height, baseline = _text_size(vertebra.name, name_scale, name_thickness)
        centre_x = (col + 0.5) * px_per_voxel - 0.5
        centre_y = (row + 0.5) * px_per_voxel - 0.5
        left = int(np.clip(round(centre_x - width / 2), 2, max(2, size[0] - width - 2)))
        top = int(round(centre_y - height / 2))
        for other_left, _, other_right, other_bottom in placed:
            if left < other_right and left + width > other_left and top < other_bottom + 4:
                top = max(top, other_bottom + 4)
        placed.append((left, top, left + width, top + height + baseline))
        _put(image, vertebra.name, (left, top + height), name_scale, vertebra.colour_rgb, name_thickness, halo=True)
    # Orientation letters at the side edges, half-way down.
    letter_scale = 0.8
    for letter, at_left in ((view.left, True), (view.right, False)):
        width, height, _ = _text_size(letter, letter_scale, 2)
        x = 6 if at_left else size[0] - width - 6
        _put(image, letter, (x, size[1] // 2), letter_scale, NOTE_RGB, 2, halo=True)
    return image


def _compose(vertebrae: list[_Vertebra], sagittal: _View, coronal: _View, identification: str,
             spacing_mm: float) -> np.ndarray:
    height_mm = sagittal.mip_hu.shape[0] * spacing_mm
    px_per_mm = float(np.clip(VIEW_HEIGHT_PX / height_mm, *PX_PER_MM_RANGE))
    px_per_voxel = px_per_mm * spacing_mm
    # Names as large as the vertebrae allow: about half the spacing between neighbouring names.
    rows = sorted(sagittal.anchors[v.label_id][1] for v in vertebrae)
    gap_px = float(np.median(np.diff(rows))) * px_per_voxel if len(rows) > 1 else 60.0
    name_height = float(np.clip(0.45 * gap_px, 18.0, 36.0))
    name_scale = name_height / _text_size("L", 1.0, 2)[1]
    name_thickness = 2 if name_height < 28 else 3
    panels = [_draw_view(view, vertebrae, px_per_voxel, name_scale, name_thickness) for view in (sagittal, coronal)]

    margin, gap = 16, 24
    panel_width = max(p.shape[1] for p in panels)
    panel_height = max(p.shape[0] for p in panels)
    width = 2 * panel_width + gap + 2 * margin
    title_scale, body_scale = 0.85, 0.65
    names = ", ".join(v.name for v in vertebrae)
    header = [
        (f"LEVEL CHECK: {len(vertebrae)} labelled, cranial to caudal: {names}", title_scale, TEXT_RGB, 2),
        (f"Levels named by: {identification}", body_scale, NOTE_RGB, 1),
    ]
    if any(v.name.startswith("vertebra ") for v in vertebrae):
        header.append(("'vertebra N': the N-th vertebra from the top in view, found but NOT named to a level",
                       body_scale, NOTE_RGB, 1))
    header.append((DISCLAIMER, body_scale, DIM_RGB, 1))
    lines = [(line, s, c, t) for text, s, c, t in header for line in _wrap(_ascii(text), s, t, width - 2 * margin)]
    line_heights = [_text_size("Ag", s, t)[1] + 12 for _, s, _, t in lines]
    titles_height = _text_size("Ag", body_scale, 1)[1] + 14
    header_height = margin + sum(line_heights) + 6
    footer = (
        f"Thick-slab MIPs, bone window L{WINDOW_LEVEL_HU:.0f}/W{WINDOW_WIDTH_HU:.0f} HU; sagittal +-"
        f"{SAGITTAL_HALF_SLAB_MM:.0f} mm about the spine's midline, coronal {BODY_DEPTH_MM:.0f} mm through the "
        "vertebral bodies; outlines: the label map's projection in the slab."
    )
    footer_lines = _wrap(footer, 0.5, 1, width - 2 * margin)
    footer_line_height = _text_size("Ag", 0.5, 1)[1] + 10
    height = header_height + titles_height + panel_height + 10 + footer_line_height * len(footer_lines) + margin
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = BACKGROUND_RGB

    y = margin
    for (line, scale, colour, thickness), line_height in zip(lines, line_heights, strict=True):
        y += line_height
        _put(canvas, line, (margin, y - 8), scale, colour, thickness)
    y = header_height
    for n, (panel, view) in enumerate(zip(panels, (sagittal, coronal), strict=True)):
        left = margin + n * (panel_width + gap)
        _put(canvas, view.title, (left, y + titles_height - 10), body_scale, TEXT_RGB, 1)
        offset = left + (panel_width - panel.shape[1]) // 2
        top = y + titles_height
        canvas[top : top + panel.shape[0], offset : offset + panel.shape[1]] = panel
    y += titles_height + panel_height + 10
    for line in footer_lines:
        y += footer_line_height
        _put(canvas, line, (margin, y - 6), 0.5, DIM_RGB, 1)
    return canvas

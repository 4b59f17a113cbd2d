"""The anterior column: the centre line of the vertebral bodies, and the discs along it.

Method (on the LPS-aligned working grid, see `anatomy.bone`):

1. A slab of sagittal planes around the symmetry midline (+-12 mm) is thresholded and each plane's
   tall holes are filled (a body's cancellous interior, not a disc space). Bodies are wide and
   solid there; posterior elements are narrow (the spinous process) or lateral (the facets).
2. The body column is the path through the slab's (y, z) plane that maximises the local solid
   fraction with a smoothness penalty, by dynamic programming over z (a Viterbi path, as in the
   spine-curve tracking of Klinder et al., "Automated model-based vertebra detection,
   identification, and segmentation in CT images", Med Image Anal 13(3), 2009, which fits a
   curve through the bodies before locating the vertebrae along it).
3. Along that curve the discs are found from the endplate signature (`anatomy.discs`) when the
   smoothed CT is given; otherwise (the older rule) in planes normal to the curve the bone
   fraction drops to almost nothing in each disc, and its minima, at least `MIN_BODY_MM` apart,
   are the discs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import find_peaks

from kambin.anatomy.bone import fill_holes_in_planes
from kambin.anatomy.discs import find_disc_candidates

SLAB_HALF_WIDTH_MM = 12
BODY_WINDOW_MM = (30, 20)  # (AP, cranio-caudal) box over which "solid" is averaged
MIN_SOLID = 0.35  # mean solid fraction below which the path is not on a spine
MIN_BODY_MM = 16.0  # discs closer than this along the column are one disc
DISC_MAX_FRACTION = 0.55  # solid fraction in a disc plane at most this (bodies: 0.6-1)
DISC_MAX_WIDTH_MM = 15.0  # a dip wider than this (at half its depth) is a body's unfilled interior
TILTS_DEG = tuple(range(-35, 36, 5))  # bone fraction in a disc plane at most this (endplates excluded)


@dataclass(frozen=True)
class Disc:
    """A disc plane on the working grid: a point in its middle and the column direction there."""

    centre_xyz: np.ndarray  # working-grid voxel coordinates (x=+L, y=+P, z=+S)
    normal_xyz: np.ndarray  # unit vector along the column, pointing cranially (+z)
    bone_fraction: float

    def signed_distance(self, points_xyz: np.ndarray) -> np.ndarray:
        """Distance of points (..., 3) from the plane in voxels, positive cranial to it."""
        return (points_xyz - self.centre_xyz) @ self.normal_xyz


@dataclass(frozen=True)
class Column:
    """The body centre line x(z), y(z) over z in [z_low, z_high], and the discs, cranial first."""

    x_of_z: np.ndarray
    y_of_z: np.ndarray
    z_low: int
    z_high: int
    solid_of_z: np.ndarray
    discs: tuple[Disc, ...]
    profile: np.ndarray  # bone fraction along z in planes normal to the column

    def point(self, z: float) -> np.ndarray:
        zc = float(np.clip(z, 0, len(self.x_of_z) - 1))
        zs = np.arange(len(self.x_of_z))
        return np.array([np.interp(zc, zs, self.x_of_z), np.interp(zc, zs, self.y_of_z), zc])

    def tangent(self, z: float) -> np.ndarray:
        zs = np.arange(len(self.y_of_z))
        dy = np.interp(z, zs, np.gradient(self.y_of_z))
        dx = np.interp(z, zs, np.gradient(self.x_of_z))
        t = np.array([dx, dy, 1.0])
        return t / np.linalg.norm(t)


def _viterbi_path(score: np.ndarray, max_step: int = 1, step_penalty: float = 0.1) -> np.ndarray:
    """Path y(z) through score[y, z] maximising sum(score) - step_penalty * sum(|dy|)."""
    ny, nz = score.shape
    total = score[:, 0].astype(np.float64).copy()
    back = np.zeros((ny, nz), dtype=np.int32)
    index = np.arange(ny)
    for z in range(1, nz):
        best = np.full(ny, -np.inf)
        arg = np.zeros(ny, dtype=np.int32)
        for d in range(-max_step, max_step + 1):
            source = np.clip(index - d, 0, ny - 1)
            value = total[source] - step_penalty * abs(d)
            better = value > best
            best[better] = value[better]
            arg[better] = source[better]
        total = best + score[:, z]
        back[:, z] = arg
    path = np.zeros(nz, dtype=np.int32)
    path[-1] = int(np.argmax(total))
    for z in range(nz - 1, 0, -1):
        path[z - 1] = back[path[z], z]
    return path


def find_column(bone: np.ndarray, midline_x_of_z: np.ndarray, smoothed_hu: np.ndarray | None = None) -> Column | None:
    """The body centre line and discs; None when no run of solid column 40 mm long is found.

    With `smoothed_hu` the discs are found from the endplate signature (`anatomy.discs`), else
    from the dips of the solid fraction (step 3 above).
    """
    nx, ny, nz = bone.shape
    x0 = np.clip(np.round(midline_x_of_z).astype(int), 0, nx - 1)
    offsets = np.arange(-SLAB_HALF_WIDTH_MM, SLAB_HALF_WIDTH_MM + 1)
    xs = np.clip(x0[None, :] + offsets[:, None], 0, nx - 1)
    slab = bone[xs, :, np.arange(nz)[None, :]]  # (width, nz, ny)
    slab = np.ascontiguousarray(np.transpose(slab, (0, 2, 1)))  # (width, ny, nz)
    slab = ndi.binary_closing(slab, np.ones((1, 3, 3), dtype=bool))
    filled = fill_holes_in_planes(slab, axis=0, min_extent=(4, 10))
    solid = filled.mean(axis=0, dtype=np.float32)
    score = ndi.uniform_filter(solid, BODY_WINDOW_MM, mode="constant")
    path = _viterbi_path(score - 0.5)
    solid_of_z = score[path, np.arange(nz)]
    good = ndi.binary_opening(solid_of_z > MIN_SOLID, np.ones(5, dtype=bool))
    runs, count = ndi.label(good)
    if count == 0:
        return None
    lengths = ndi.sum(good, runs, index=np.arange(1, count + 1))
    longest = int(np.argmax(lengths)) + 1
    if lengths[longest - 1] < 40:
        return None
    zs = np.flatnonzero(runs == longest)
    z_low, z_high = int(zs[0]), int(zs[-1])
    y_of_z = ndi.gaussian_filter1d(path.astype(float), 4.0, mode="nearest")
    x_of_z = midline_x_of_z.astype(float)
    profile, normals = _normal_plane_profile(filled, y_of_z)
    column = Column(x_of_z, y_of_z, z_low, z_high, solid_of_z, (), profile)
    if smoothed_hu is None:
        discs = _find_discs(column, profile, normals)
    else:
        candidates = find_disc_candidates(smoothed_hu, x_of_z, y_of_z, (z_low, z_high))
        discs = tuple(
            Disc(column.point(c.z), np.array([0.0, c.normal_yz[0], c.normal_yz[1]]), float(profile[c.z]))
            for c in sorted(candidates, key=lambda c: -c.z)
        )
    return Column(x_of_z, y_of_z, z_low, z_high, solid_of_z, discs, profile)


def _normal_plane_profile(filled_slab: np.ndarray, y_of_z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least solid fraction over tilted patches (31 x 13 mm) through the column at each z.

    Discs are tilted against the column line by up to 30 degrees (L5-S1), so at each z the patch
    is swung in the sagittal plane through `TILTS_DEG` and the emptiest one is kept. Returns the
    fraction and the unit normal (x, y, z) of the emptiest patch, per z. The slab's axis 0 is
    x - x(z) + SLAB_HALF_WIDTH_MM.
    """
    nz = filled_slab.shape[2]
    u = np.arange(-15, 16, dtype=float)
    v = np.arange(-6, 7, dtype=float) + SLAB_HALF_WIDTH_MM
    z = np.arange(nz, dtype=float)
    best = np.full(nz, np.inf)
    best_normal = np.tile(np.array([0.0, 0.0, 1.0]), (nz, 1))
    values_slab = filled_slab.astype(np.float32)
    for tilt in np.radians(TILTS_DEG):
        # In-plane direction across the column (y, z) and the plane's normal.
        across = np.array([np.cos(tilt), np.sin(tilt)])
        yy = y_of_z[:, None] + u[None, :] * across[0]
        zz = z[:, None] + u[None, :] * across[1]
        coords = np.stack(
            [np.broadcast_to(v[None, None, :], (nz, u.size, v.size)),
             np.broadcast_to(yy[:, :, None], (nz, u.size, v.size)),
             np.broadcast_to(zz[:, :, None], (nz, u.size, v.size))]
        ).reshape(3, -1)
        values = ndi.map_coordinates(values_slab, coords, order=1, mode="constant", cval=1.0)
        fraction = values.reshape(nz, -1).mean(axis=1)
        better = fraction < best
        best[better] = fraction[better]
        best_normal[better] = np.array([0.0, -np.sin(tilt), np.cos(tilt)])
    return best, best_normal


def _find_discs(column: Column, profile: np.ndarray, normals: np.ndarray) -> tuple[Disc, ...]:
    """Disc planes at the profile's narrow deep dips, regularised by the segment spacing.

    Vertebral segments along a spine are of similar height (within about 30 % from one to the
    next), so with the median spacing of the dips as the yardstick a gap of more than 1.45 of it
    (or an end of the column more than 1.6 of it beyond the last dip)
    gets the deepest dip inside it added, and of two dips closer than 0.6 of it the shallower one
    (a body's interior) is dropped.
    """
    smooth = ndi.gaussian_filter1d(profile, 1.0)
    low, high = column.z_low, column.z_high
    peaks, _ = find_peaks(-smooth, distance=int(MIN_BODY_MM), prominence=0.12, width=(None, DISC_MAX_WIDTH_MM))
    zs = [int(z) for z in peaks if low <= z <= high and smooth[z] <= DISC_MAX_FRACTION]
    if len(zs) >= 3:
        for _ in range(3):
            spacing = float(np.median(np.diff(zs)))
            changed = False
            gaps = np.diff(zs)
            for n in np.flatnonzero(gaps < 0.6 * spacing)[:1]:
                zs.pop(n if smooth[zs[n]] > smooth[zs[n + 1]] else n + 1)
                changed = True
            if not changed:
                for n in np.flatnonzero(gaps > 1.45 * spacing)[:1]:
                    a, b = zs[n] + int(0.35 * spacing), zs[n + 1] - int(0.35 * spacing)
                    if b > a:
                        z = a + int(np.argmin(smooth[a:b]))
                        if smooth[z] <= DISC_MAX_FRACTION:
                            zs.insert(n + 1, z)
                            changed = True
            if not changed:
                break
        spacing = float(np.median(np.diff(zs)))
        ends = ((zs[-1] + int(0.6 * spacing), high - 5, len(zs)), (low + 5, zs[0] - int(0.6 * spacing), 0))
        for end_start, end_stop, at in ends:
            if end_stop - end_start > 3:
                z = end_start + int(np.argmin(smooth[end_start:end_stop]))
                if smooth[z] <= 0.5 * DISC_MAX_FRACTION:
                    zs.insert(at, z)
    discs = [Disc(column.point(z), normals[z], float(smooth[z])) for z in zs]
    return tuple(sorted(discs, key=lambda d: -d.centre_xyz[2]))

"""Clearance fields: for each structure the planner must avoid, the distance (mm) from any point
to it, sampled along candidate paths.

A field is the Euclidean distance transform of the structure's mask on its grid (Maurer,
Qi & Raghavan, IEEE PAMI 25(2), 2003, as implemented by scipy.ndimage.distance_transform_edt with
the grid spacing), minus half a voxel so that a point on the mask's boundary reads about zero,
and negative (the depth) inside. Sampled with trilinear interpolation; since the exact
distance is 1-Lipschitz in space, the sampled field is too, up to the interpolation error of
about half a voxel that `error_mm` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume


@dataclass(frozen=True)
class ClearanceField:
    """Signed distance (mm) to one structure on a grid: positive outside, negative inside.

    Attributes:
        name: registry name or a group name ("bone", "bowel").
        distance_mm: float32 array on the grid of `voxel_to_lps`.
        voxel_to_lps: the grid's affine.
        error_mm: bound on the field's error at any point (discretisation).
    """

    name: str
    distance_mm: np.ndarray
    voxel_to_lps: np.ndarray
    error_mm: float

    @classmethod
    def from_mask(cls, name: str, mask: Volume) -> ClearanceField:
        """Build the field of the True voxels of a mask Volume."""
        voxels = np.asarray(mask.voxels).astype(bool)
        if not voxels.any():
            raise InvalidInputError(f"structure {name!r} is empty on its grid; nothing to keep clear of")
        direction = mask.direction_lps
        if not np.allclose(np.abs(direction), np.round(np.abs(direction)), atol=1e-6):
            raise InvalidInputError(f"structure {name!r}: clearance fields need an axis-aligned grid")
        spacing = mask.spacing_mm
        outside = ndimage.distance_transform_edt(~voxels, sampling=spacing)
        inside = ndimage.distance_transform_edt(voxels, sampling=spacing)
        half_voxel = 0.5 * float(spacing.min())
        distance = np.where(voxels, -(inside - half_voxel), outside - half_voxel).astype(np.float32)
        return cls(name, distance, mask.voxel_to_lps.copy(), error_mm=float(0.5 * np.linalg.norm(spacing)))

    def sample(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Distance (mm) at each point (N, 3), trilinear; points off the grid read as far away."""
        points = np.atleast_2d(np.asarray(points_lps_mm, dtype=np.float64))
        lps_to_voxel = np.linalg.inv(self.voxel_to_lps)
        ijk = points @ lps_to_voxel[:3, :3].T + lps_to_voxel[:3, 3]
        values = ndimage.map_coordinates(self.distance_mm, ijk.T, order=1, mode="nearest")
        shape = np.asarray(self.distance_mm.shape)
        beyond = np.maximum(np.maximum(-ijk, ijk - (shape - 1)), 0.0)
        # Off the grid the distance is at least the value at the nearest edge plus the way out.
        spacing = np.linalg.norm(self.voxel_to_lps[:3, :3], axis=0)
        return values + np.linalg.norm(beyond * spacing, axis=1)

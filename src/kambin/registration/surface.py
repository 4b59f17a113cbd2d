"""Bone surfaces as oriented point clouds (points + outward normals) for surface registration.

From a label map: the faces between voxels inside and outside the chosen labels, with the
outward normal from the gradient of the Gaussian-smoothed mask (derivative of Gaussian). From a
triangle mesh: vertices with area-weighted vertex normals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from kambin.errors import InvalidInputError


@dataclass(frozen=True)
class SurfaceModel:
    """An oriented point cloud in one frame (usually CT LPS mm), with a k-d tree for closest points."""

    points: np.ndarray
    normals: np.ndarray
    tree: cKDTree = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64)
        normals = np.asarray(self.normals, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3 or points.shape != normals.shape or len(points) < 10:
            raise InvalidInputError(
                f"a surface needs (N >= 10, 3) points and normals, got {points.shape} and {normals.shape}"
            )
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        if np.any(length < 1e-9) or not np.all(np.isfinite(points)):
            raise InvalidInputError("surface normals must be non-zero and points finite")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "normals", normals / length)
        object.__setattr__(self, "tree", cKDTree(points))

    def closest(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distances, closest points, their normals) for (M, 3) query points."""
        distances, index = self.tree.query(query, k=1)
        return distances, self.points[index], self.normals[index]

    def signed_distance(self, query: np.ndarray) -> np.ndarray:
        """Point-to-plane distance to the closest surface sample (positive outside)."""
        _, points, normals = self.closest(query)
        return np.sum((query - points) * normals, axis=1)


def surface_from_mask(
    mask: np.ndarray, voxel_to_lps: np.ndarray, smoothing_mm: float = 1.0, margin_voxels: int = 4
) -> SurfaceModel:
    """Oriented surface of a boolean mask on a voxel grid (voxel_to_lps: 4x4, LPS mm).

    Samples are the centres of the voxel faces between a voxel inside and a neighbour outside
    (the boundary of the label map itself, within half a voxel of the true surface); normals are
    the outward direction of the gradient of the mask smoothed with a Gaussian of `smoothing_mm`,
    which averages the voxel staircase out of the normals.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3 or not mask.any():
        raise InvalidInputError(
            f"the mask must be 3D and non-empty, got shape {mask.shape} with {int(mask.sum())} voxels"
        )
    inside = np.argwhere(mask)
    lo = np.maximum(inside.min(axis=0) - margin_voxels, 0)
    hi = np.minimum(inside.max(axis=0) + margin_voxels + 1, mask.shape)
    crop = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    affine = np.asarray(voxel_to_lps, dtype=np.float64)
    jacobian = affine[:3, :3]
    spacing = np.linalg.norm(jacobian, axis=0)
    smooth = ndimage.gaussian_filter(crop.astype(np.float32), sigma=smoothing_mm / spacing, mode="constant")
    gradient = np.stack(np.gradient(smooth), axis=-1)  # d/d(ijk)
    faces, grads = [], []
    for axis in range(3):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis], b[axis] = slice(0, -1), slice(1, None)
        change = crop[tuple(a)] != crop[tuple(b)]
        first = np.argwhere(change)
        second = first.copy()
        second[:, axis] += 1
        faces.append((first + second) / 2.0)
        grads.append((gradient[tuple(first.T)] + gradient[tuple(second.T)]) / 2.0)
    ijk = np.vstack(faces) + lo
    gradients = np.vstack(grads) @ np.linalg.inv(jacobian)  # d/d(lps) = J^-T d/d(ijk), as rows
    keep = np.sum(gradients * gradients, axis=1) > 1e-10
    points = ijk[keep] @ jacobian.T + affine[:3, 3]
    return SurfaceModel(points, -gradients[keep])


def surface_from_mesh(vertices: np.ndarray, faces: np.ndarray) -> SurfaceModel:
    """Oriented surface from a triangle mesh (faces index vertices from 0), area-weighted normals."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= len(vertices):
        raise InvalidInputError(f"faces must be (M, 3) indices into {len(vertices)} vertices")
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    face_normals = np.cross(b - a, c - a)  # length = 2 * area
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    used = np.linalg.norm(normals, axis=1) > 1e-12
    return SurfaceModel(vertices[used], normals[used])

"""The exposed dorsal bone of the synthetic patient, for surface-registration experiments.

Takes a `kambin.phantom` patient's label map (not its analytic shapes: what a CT segmentation
would give), builds the oriented bone surface of L2 to the sacrum, and keeps what a surgeon sees
from behind over the posterior elements (spinous processes, laminae, facets) of the chosen
vertebrae: samples dorsal of the vertebral bodies' centres by more than `dorsal_of_body_mm`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.anatomy.labels import LABELS
from kambin.registration.surface import SurfaceModel, surface_from_mask
from kambin.registration.trace import exposed_surface

_IDS = {label.name: label.id for label in LABELS}
BONE_LABELS = ("vertebrae_L2", "vertebrae_L3", "vertebrae_L4", "vertebrae_L5", "vertebrae_S1", "sacrum")


def dorsal_exposure(patient, vertebrae: tuple[str, ...] = ("L3", "L4", "L5"), dorsal_of_body_mm: float = 20.0):
    """(surface, exposed sample indices, view basis) of the patient's exposed posterior elements."""
    labels = patient.labels
    mask = np.isin(labels.voxels, [_IDS[name] for name in BONE_LABELS])
    surface: SurfaceModel = surface_from_mask(mask, labels.voxel_to_lps)
    # Which vertebra each surface sample belongs to: the label of the nearest bone voxel.
    inside = np.argwhere(mask)
    lo = np.maximum(inside.min(axis=0) - 3, 0)
    hi = np.minimum(inside.max(axis=0) + 4, mask.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    ijk = np.clip(np.round(labels.lps_to_ijk(surface.points)).astype(int), lo, hi - 1) - lo
    _, nearest = ndimage.distance_transform_edt(~mask[box], return_indices=True)
    owner = labels.voxels[box][tuple(nearest[:, ijk[:, 0], ijk[:, 1], ijk[:, 2]])]
    chosen = np.isin(owner, [_IDS[f"vertebrae_{v}"] for v in vertebrae])
    # LPS: +y is posterior. Keep samples dorsal of the chosen bodies' centres.
    body_y = max(patient.truth.vertebrae[v].body_centre_lps_mm[1] for v in vertebrae)
    dorsal = surface.points[:, 1] > body_y + dorsal_of_body_mm
    exposed, basis = exposed_surface(surface, np.array([0.0, 1.0, 0.0]), within=chosen & dorsal)
    return surface, exposed, basis

"""Exact re-indexing between grids that hold the same voxel centres in a different axis order.

A NIfTI written in LAS and a DICOM series in LPS can describe the same voxels with i, j or k
running the other way. Matching them needs no interpolation: the axes are permuted and flipped.
"""

from __future__ import annotations

import itertools

import numpy as np

from kambin.errors import InvalidInputError
from kambin.imaging.volume import Volume


def reorient_like(volume: Volume, reference: Volume, tolerance_mm: float = 1e-3) -> Volume:
    """Return `volume` re-indexed onto `reference`'s grid, exactly, if both hold the same voxel centres.

    Raises InvalidInputError if the grids differ by anything other than axis order and direction
    (a different spacing, origin, extent or rotation), since that would need resampling.
    """
    ref_to_vol = volume.lps_to_voxel @ reference.voxel_to_lps  # reference ijk -> volume ijk
    linear = ref_to_vol[:3, :3]
    permutation = np.round(linear)
    if not (
        np.allclose(linear, permutation, atol=1e-4)
        and np.all(np.sum(np.abs(permutation), axis=0) == 1)
        and np.all(np.sum(np.abs(permutation), axis=1) == 1)
    ):
        raise InvalidInputError(
            f"{volume.source or 'volume'} is on a different grid from {reference.source or 'the reference'} "
            "(spacing or orientation differ); resample it onto the CT first"
        )
    offset = ref_to_vol[:3, 3]
    offset_voxels = np.round(offset)
    if np.abs(offset - offset_voxels).max() * volume.spacing_mm.max() > tolerance_mm:
        raise InvalidInputError("the grids are shifted by a fraction of a voxel; resample onto the CT first")
    # volume axis a = sign * reference axis b + offset
    axes, flips = [], []
    for b in range(3):
        a = int(np.flatnonzero(permutation[:, b])[0])
        axes.append(a)
        flips.append(permutation[a, b] < 0)
    voxels = np.transpose(volume.voxels, axes)
    for b in range(3):
        if flips[b]:
            voxels = np.flip(voxels, axis=b)
    corner = ref_to_vol @ np.array([0, 0, 0, 1.0])
    if voxels.shape != reference.shape_ijk:
        raise InvalidInputError(
            f"the grids hold different extents ({volume.shape_ijk} vs {reference.shape_ijk} voxels)"
        )
    start = np.array([corner[axes[b]] for b in range(3)])
    expected = np.array([volume.shape_ijk[axes[b]] - 1 if flips[b] else 0 for b in range(3)])
    if np.abs(start - expected).max() > 1e-3:
        raise InvalidInputError("the grids cover different regions; resample onto the CT first")
    return Volume(
        voxels=np.ascontiguousarray(voxels),
        voxel_to_lps=reference.voxel_to_lps.copy(),
        modality=volume.modality,
        source=volume.source,
        metadata=dict(volume.metadata),
        warnings=volume.warnings,
    )


def storage_orders() -> list[tuple[tuple[int, int, int], tuple[bool, bool, bool]]]:
    """The 48 ways to store a volume's voxels: each axis permutation with each set of axis flips."""
    return [
        (tuple(int(a) for a in perm), tuple(bool(f) for f in flips))  # type: ignore[misc]
        for perm in itertools.permutations(range(3))
        for flips in itertools.product((False, True), repeat=3)
    ]


def restore(volume: Volume, permutation: tuple[int, int, int], flips: tuple[bool, bool, bool]) -> Volume:
    """The same voxels, stored in another axis order: new axis n is old axis `permutation[n]`, run
    backwards where `flips[n]`; `voxel_to_lps` changes with them so every voxel keeps its LPS position.

    What a scanner or converter does when it writes a sagittal or coronal acquisition (VerSe's CTs)
    or a NIfTI in RAS: used to check that results do not depend on storage order.
    """
    if sorted(permutation) != [0, 1, 2] or len(flips) != 3:
        raise InvalidInputError(
            f"permutation must order the axes 0, 1, 2 and flips be 3 booleans, not {permutation}, {flips}"
        )
    voxels = np.transpose(volume.voxels, permutation)
    affine = np.eye(4)
    affine[:3, :3] = volume.voxel_to_lps[:3, list(permutation)]
    affine[:3, 3] = volume.voxel_to_lps[:3, 3]
    for axis, flip in enumerate(flips):
        if flip:
            voxels = np.flip(voxels, axis)
            affine[:3, 3] += affine[:3, axis] * (voxels.shape[axis] - 1)
            affine[:3, axis] *= -1
    return Volume(
        voxels=np.ascontiguousarray(voxels),
        voxel_to_lps=affine,
        modality=volume.modality,
        source=volume.source,
        metadata=dict(volume.metadata),
        warnings=volume.warnings,
    )


def crop_to_lps_box(volume: Volume, low_lps_mm, high_lps_mm) -> Volume:
    """The voxels of `volume` whose indices fall in the box between two LPS corners (taken through the
    voxel grid, so exact for an axis-aligned volume), with their geometry: a field of view cut down
    as a scanner's reconstruction would have it. Raises InvalidInputError if the box holds no voxel."""
    corners = volume.lps_to_ijk(np.asarray([low_lps_mm, high_lps_mm], dtype=float))
    low = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    high = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, volume.shape_ijk)
    if np.any(high <= low):
        raise InvalidInputError(f"the box {low_lps_mm} to {high_lps_mm} mm LPS holds no voxel of the volume")
    corner = np.eye(4)
    corner[:3, 3] = low
    voxels = volume.voxels[tuple(slice(a, b) for a, b in zip(low, high, strict=True))]
    return Volume(
        voxels=np.ascontiguousarray(voxels),
        voxel_to_lps=volume.voxel_to_lps @ corner,
        modality=volume.modality,
        source=volume.source,
    )

"""Resampling with SimpleITK: onto an axis-aligned isotropic working grid, and back onto a reference grid.

Segmentation works on an LPS-aligned grid (axis 0 = +L, 1 = +P, 2 = +S) so that "axial",
"sagittal" and "coronal" are array axes whatever the acquisition was (VerSe's CTs are sagittal).
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from kambin.errors import InvalidInputError
from kambin.imaging.io import sitk_to_volume, volume_to_sitk
from kambin.imaging.volume import Volume

_INTERPOLATORS = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor, "bspline": sitk.sitkBSpline}


def resample_axis_aligned(
    volume: Volume, spacing_mm: float, interpolation: str = "linear", fill_value: float = -1024.0, float32: bool = False
) -> Volume:
    """Resample onto an identity-direction grid of isotropic spacing that covers the volume's extent;
    in the volume's own voxel type, or in float32 with `float32` (no conversion pass afterwards)."""
    if interpolation not in _INTERPOLATORS:
        raise InvalidInputError(f"interpolation must be one of {sorted(_INTERPOLATORS)}, not {interpolation!r}")
    if spacing_mm <= 0:
        raise InvalidInputError(f"spacing must be positive, got {spacing_mm} mm")
    low, high = volume.extent_lps_mm()
    size = np.floor((high - low) / spacing_mm).astype(int) + 1
    image = volume_to_sitk(volume)
    out = sitk.Resample(
        image,
        [int(n) for n in size],
        sitk.Transform(),
        _INTERPOLATORS[interpolation],
        [float(v) for v in low],
        [float(spacing_mm)] * 3,
        [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
        float(fill_value),
        sitk.sitkFloat32 if float32 else image.GetPixelID(),
    )
    return sitk_to_volume(out, modality=volume.modality, source=volume.source)


def resample_like(volume: Volume, reference: Volume, interpolation: str = "nearest", fill_value: float = 0.0) -> Volume:
    """Resample `volume` onto `reference`'s grid (nearest neighbour keeps label maps' ids)."""
    if interpolation not in _INTERPOLATORS:
        raise InvalidInputError(f"interpolation must be one of {sorted(_INTERPOLATORS)}, not {interpolation!r}")
    resampler = sitk.ResampleImageFilter()
    resampler.SetSize([int(n) for n in reference.shape_ijk])
    resampler.SetOutputSpacing([float(v) for v in reference.spacing_mm])
    resampler.SetOutputOrigin([float(v) for v in reference.origin_lps_mm])
    resampler.SetOutputDirection([float(v) for v in reference.direction_lps.ravel()])
    resampler.SetInterpolator(_INTERPOLATORS[interpolation])
    resampler.SetDefaultPixelValue(float(fill_value))
    out = resampler.Execute(volume_to_sitk(volume))
    return sitk_to_volume(out, modality=volume.modality, source=volume.source)

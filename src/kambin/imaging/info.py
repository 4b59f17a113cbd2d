"""The facts `kambin info` reports about a volume, as one JSON-ready dict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kambin.imaging.volume import Volume


def volume_info(volume: Volume, path: str | Path) -> dict:
    """Exactly the keys of `kambin info --json`; values rounded only where floats are noisy."""
    voxels = volume.voxels
    finite = voxels[np.isfinite(voxels)] if voxels.dtype.kind == "f" else voxels
    def clean(values: np.ndarray) -> list:
        return (np.asarray(values, dtype=np.float64) + 0.0).tolist()  # + 0.0 turns -0.0 into 0.0

    return {
        "path": str(path),
        "shape_ijk": list(volume.shape_ijk),
        "spacing_mm": clean(volume.spacing_mm),
        "origin_lps_mm": clean(volume.origin_lps_mm),
        "direction_lps": clean(volume.direction_lps),
        "voxel_to_lps": clean(volume.voxel_to_lps),
        "modality": volume.modality,
        "hu_min": float(finite.min()) if finite.size else None,
        "hu_max": float(finite.max()) if finite.size else None,
        "warnings": list(volume.warnings),
    }

"""`Volume`: a 3D image in patient LPS millimetres.

The voxel array is indexed `voxels[i, j, k]`, and `voxel_to_lps @ [i, j, k, 1]` is the centre
of that voxel in patient LPS (DICOM) millimetres. Readers convert every format to this (NIfTI's
RAS included) so that nothing downstream needs to know where a volume came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from kambin.errors import InvalidInputError


@dataclass(frozen=True)
class Volume:
    """Voxels and their geometry, plus what is known of their source.

    Attributes:
        voxels: 3D array indexed [i, j, k]; CT in Hounsfield units.
        voxel_to_lps: 4x4 affine from voxel index (i, j, k) to LPS mm.
        modality: DICOM modality code ("CT", "MR", ...) or "unknown"; label maps use "SEG".
        source: where it was read from ("" if made in memory).
        metadata: format-specific facts worth keeping (series UID, patient position, ...).
        warnings: problems found on reading that did not stop it.
    """

    voxels: np.ndarray
    voxel_to_lps: np.ndarray
    modality: str = "CT"
    source: str = ""
    metadata: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise InvalidInputError(f"a Volume needs a 3D voxel array, got shape {self.voxels.shape}")
        affine = np.asarray(self.voxel_to_lps, dtype=np.float64)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise InvalidInputError(f"voxel_to_lps must be a finite 4x4 matrix, got {affine.shape}")
        if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise InvalidInputError("voxel_to_lps is singular (a zero spacing or collinear axes)")
        object.__setattr__(self, "voxel_to_lps", affine)

    @classmethod
    def from_geometry(
        cls,
        voxels: np.ndarray,
        spacing_mm: tuple[float, float, float],
        origin_lps_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
        direction_lps: np.ndarray | None = None,
        **kwargs,
    ) -> Volume:
        """Build a Volume from spacing, origin (centre of voxel 0,0,0) and direction cosines."""
        direction = np.eye(3) if direction_lps is None else np.asarray(direction_lps, dtype=np.float64)
        voxel_to_lps = np.eye(4)
        voxel_to_lps[:3, :3] = direction * np.asarray(spacing_mm, dtype=np.float64)[None, :]
        voxel_to_lps[:3, 3] = origin_lps_mm
        return cls(voxels=voxels, voxel_to_lps=voxel_to_lps, **kwargs)

    @property
    def shape_ijk(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.voxels.shape)  # type: ignore[return-value]

    @property
    def spacing_mm(self) -> np.ndarray:
        return np.linalg.norm(self.voxel_to_lps[:3, :3], axis=0)

    @property
    def origin_lps_mm(self) -> np.ndarray:
        return self.voxel_to_lps[:3, 3].copy()

    @property
    def direction_lps(self) -> np.ndarray:
        """3x3 direction cosines; column n is the LPS direction of voxel axis n (i, j, k)."""
        return self.voxel_to_lps[:3, :3] / self.spacing_mm[None, :]

    @property
    def lps_to_voxel(self) -> np.ndarray:
        return np.linalg.inv(self.voxel_to_lps)

    def ijk_to_lps(self, ijk: np.ndarray) -> np.ndarray:
        """Map continuous voxel indices (3,) or (N, 3) to LPS mm."""
        p = np.asarray(ijk, dtype=np.float64)
        return p @ self.voxel_to_lps[:3, :3].T + self.voxel_to_lps[:3, 3]

    def lps_to_ijk(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Map LPS mm points (3,) or (N, 3) to continuous voxel indices."""
        m = self.lps_to_voxel
        p = np.asarray(points_lps_mm, dtype=np.float64)
        return p @ m[:3, :3].T + m[:3, 3]

    def contains_lps(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """True where a point lies inside the volume's voxel extent."""
        ijk = np.atleast_2d(self.lps_to_ijk(points_lps_mm))
        upper = np.asarray(self.shape_ijk) - 0.5
        return np.all((ijk >= -0.5) & (ijk <= upper), axis=1)

    def extent_lps_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned LPS bounding box (min, max) of the voxel centres."""
        n = np.asarray(self.shape_ijk) - 1
        corners = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])])
        lps = self.ijk_to_lps(corners)
        return lps.min(axis=0), lps.max(axis=0)

    def with_voxels(self, voxels: np.ndarray, modality: str | None = None) -> Volume:
        """Same grid, new voxels (e.g. a label map computed on this CT)."""
        if voxels.shape != self.voxels.shape:
            raise InvalidInputError(
                f"new voxels must have the grid's shape {self.shape_ijk}, got {voxels.shape}"
            )
        return replace(self, voxels=voxels, modality=modality or self.modality, warnings=())

    def same_grid(self, other: Volume, tolerance_mm: float = 1e-3) -> bool:
        """True if `other` has the same shape and maps every voxel to the same LPS point."""
        if self.shape_ijk != other.shape_ijk:
            return False
        n = np.asarray(self.shape_ijk) - 1
        corners = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])])
        return bool(np.abs(self.ijk_to_lps(corners) - other.ijk_to_lps(corners)).max() < tolerance_mm)

"""Registration of the patient (tracker space) to the CT: paired points, FRE/TRE, surface ICP."""

from kambin.registration.icp import IcpResult, icp_point_to_plane
from kambin.registration.paired_point import (
    PairedPointResult,
    fiducial_registration_error,
    register_paired_points,
)
from kambin.registration.surface import SurfaceModel, surface_from_mask, surface_from_mesh
from kambin.registration.tre import fle_from_fre, predicted_tre_mm

__all__ = [
    "IcpResult",
    "SurfaceModel",
    "icp_point_to_plane",
    "surface_from_mask",
    "surface_from_mesh",
    "PairedPointResult",
    "fiducial_registration_error",
    "fle_from_fre",
    "predicted_tre_mm",
    "register_paired_points",
]

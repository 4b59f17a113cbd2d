"""Registration of the patient (tracker space) to the CT: paired points, FRE/TRE, surface ICP."""

from kambin.registration.paired_point import (
    PairedPointResult,
    fiducial_registration_error,
    register_paired_points,
)
from kambin.registration.tre import fle_from_fre, predicted_tre_mm

__all__ = [
    "PairedPointResult",
    "fiducial_registration_error",
    "fle_from_fre",
    "predicted_tre_mm",
    "register_paired_points",
]

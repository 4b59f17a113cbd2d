"""The synthetic patient: a seeded, parametric lumbar spine with pathology, its CT, its label
map and the ground truth no real CT has (nerve roots, dural sac). See `make_patient`."""

from kambin.phantom.pathology import PATHOLOGIES
from kambin.phantom.patient import (
    DEMO_LEVEL,
    DEMO_PATHOLOGY,
    DEMO_SEED,
    DEMO_SIDE,
    Patient,
    make_demo_patient,
    make_patient,
)

__all__ = [
    "DEMO_LEVEL",
    "DEMO_PATHOLOGY",
    "DEMO_SEED",
    "DEMO_SIDE",
    "PATHOLOGIES",
    "Patient",
    "make_demo_patient",
    "make_patient",
]

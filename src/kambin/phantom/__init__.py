"""The synthetic patient: a seeded, parametric lumbar spine with pathology, its CT, its label
map and the ground truth no real CT has (nerve roots, dural sac). See `make_patient`."""

from kambin.phantom.pathology import PATHOLOGIES
from kambin.phantom.patient import Patient, make_patient

__all__ = ["PATHOLOGIES", "Patient", "make_patient"]

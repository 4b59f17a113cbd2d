"""Trajectory angles as a surgeon reads them, and the unit direction they define.

A trajectory runs from the target out to the skin entry. Its direction `outward_lps` is given by
two angles (the conventions of transforaminal endoscopy planning, e.g. Ahn et al., Spine 2003;
Hoogland et al., Spine 2006):

- `axial_angle` (radians): in the axial plane, the angle of the path from the horizontal
  (the patient's left-right line when prone): 0 is a purely lateral entry, pi/2 straight
  posterior (the interlaminar direction). Transforaminal approaches are typically 25-35 deg.
- `sagittal_angle` (radians): the cranio-caudal tilt out of the axial plane, positive when the
  entry is cranial to the target (as at L5-S1, where the path dives under the iliac crest).

`side` is the side of the entry: "left" is +L (+x in LPS), "right" is -x.
"""

from __future__ import annotations

import numpy as np

from kambin.errors import InvalidInputError

SIDE_SIGN = {"left": 1.0, "right": -1.0}


def outward_direction(axial_angle: float, sagittal_angle: float, side: str) -> np.ndarray:
    """Unit LPS vector from the target toward the entry."""
    if side not in SIDE_SIGN:
        raise InvalidInputError(f"side must be one of {sorted(SIDE_SIGN)}, not {side!r}")
    c = np.cos(sagittal_angle)
    return np.array([SIDE_SIGN[side] * c * np.cos(axial_angle), c * np.sin(axial_angle), np.sin(sagittal_angle)])


def angles_of(outward_lps: np.ndarray) -> tuple[float, float, str]:
    """(axial_angle, sagittal_angle, side) of an outward direction; inverse of `outward_direction`."""
    u = np.asarray(outward_lps, dtype=np.float64)
    u = u / np.linalg.norm(u)
    side = "left" if u[0] >= 0 else "right"
    sagittal = float(np.arcsin(np.clip(u[2], -1.0, 1.0)))
    axial = float(np.arctan2(u[1], abs(u[0])))
    return axial, sagittal, side

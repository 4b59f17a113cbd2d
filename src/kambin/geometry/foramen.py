"""The intervertebral foramen measured in its parasagittal plane through the pedicles (Hasegawa T et
al., J Bone Joint Surg Am 77(1), 1995): one measurement, whether the plane was sampled from the
phantom's exact anatomy or from a label map.

Height is the largest free vertical run from the upper pedicle's lower margin to the lower pedicle's
upper margin, in front of the articular processes (the first bone at mid-disc level behind the
disc); width the free antero-posterior run at mid-disc level from the disc (or body) back to the
articular processes; area the free region between those margins.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def foramen_in_plane(bone: np.ndarray, soft: np.ndarray, vs: np.ndarray, ws: np.ndarray, v_posterior: float,
                     step_mm: float) -> dict:
    """Height, width (mm), area (mm^2) and centre (`centre_vw`: (v, w) in the plane, None where no
    foramen was found) from the plane sampled on the grid `vs` (antero-posterior, mm, posterior
    positive) x `ws` (vertical, mm, 0 at mid-disc) every `step_mm`: `bone` and `soft` (disc,
    herniation) are boolean arrays of shape (len(vs), len(ws)); `v_posterior` is the disc's posterior
    margin."""
    free = ~(bone | soft)
    mid = int(np.argmin(np.abs(ws)))
    best = (0.0, None)
    for i in range(len(vs)):
        column = bone[i]
        if column[mid] and vs[i] > v_posterior:
            break  # the articular processes: the foramen's posterior wall (columns behind it are not the foramen)
        if column[mid]:
            continue
        above = np.flatnonzero(column[mid:])
        below = np.flatnonzero(column[:mid][::-1])
        if len(above) == 0 or len(below) == 0:
            continue
        top, bottom = ws[mid + above[0]], ws[mid - 1 - below[0]]
        if top - bottom > best[0]:
            best = (float(top - bottom), (i, bottom, top))
    if best[1] is None:
        return {"height_mm": 0.0, "width_mm": 0.0, "area_mm2": 0.0, "centre_vw": None}
    height, (i_best, bottom, top) = best
    band = (ws[None, :] >= bottom) & (ws[None, :] <= top)
    comps, _ = ndimage.label(free & band)
    column = comps[i_best]
    in_column = column[column > 0]
    seed = int(np.bincount(in_column).argmax()) if len(in_column) else 0
    region = (comps == seed) if seed else np.zeros_like(free)
    near_mid = np.abs(ws) <= 2.5
    width = float(region[:, near_mid].sum(axis=0).max() * step_mm) if region.any() else 0.0
    rows = np.argwhere(region)
    if len(rows):
        centre_vw = (float(vs[rows[:, 0]].mean()), float(ws[rows[:, 1]].mean()))
    else:
        centre_vw = (float(vs[i_best]), float(0.5 * (top + bottom)))
    return {"height_mm": height, "width_mm": width, "area_mm2": float(region.sum() * step_mm * step_mm),
            "centre_vw": centre_vw}

"""The patient's body on a CT: everything inside the skin, the table and the air around left out."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kambin.imaging.volume import Volume

#: Skin and subcutaneous fat (-100 HU and up) against air (-1000) and the table's foam.
BODY_MIN_HU = -350.0


def body_mask(ct: Volume) -> np.ndarray:
    """The patient's body: HU > BODY_MIN_HU, its largest connected part (not the table), with the
    holes filled in each axial plane (bowel gas and lungs lie inside the body). The planes are those
    across the grid axis nearest the patient's long (S) axis, whatever the storage order."""
    mask = np.asarray(ct.voxels) > BODY_MIN_HU
    labelled, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(labelled.ravel())[1:]
    body = labelled == (int(np.argmax(sizes)) + 1)
    axial = int(np.argmax(np.abs(np.asarray(ct.direction_lps)[2])))  # the voxel axis nearest S
    planes = np.moveaxis(body, axial, 0)  # a view: filling it fills `body`
    for k in range(planes.shape[0]):
        planes[k] = ndimage.binary_fill_holes(planes[k])
    return body

"""Metal on the CT (pedicle screws, rods, cages): labelled `metal`, never bone, with the rim of
partial-volume voxels around it; the vertebra a screw sits in keeps its own label."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from kambin.anatomy.bone import mask_box
from kambin.anatomy.labels import label_id
from kambin.imaging.volume import Volume

#: Metal (`label_metal`): titanium reads 3000 HU and more, steel and cobalt-chrome beyond the scale
#: (3071), and no bone reaches 2500 (cortical bone is 1000-1900 HU). A voxel at the metal's edge,
#: more than half metal, reads over 1500 HU beside bone (half of 3000 and half of 300 or more); such
#: voxels next to metal are metal too, and so is cortex pressed against a screw (a rim a voxel thick).
#: Not separated from metal: excreted contrast denser than 2500 HU (renal pelvis, bladder).
METAL_HU = 2500.0


METAL_EDGE_HU = 1500.0


METAL_REACH_MM = 30.0


def label_metal(labels: np.ndarray, ct: Volume) -> bool:
    """Label, in place, metal near the labelled bone as `metal`; the vertebra around keeps its label.

    Metal is the CT above METAL_HU, and next to it (26-neighbours) above METAL_EDGE_HU, within the
    labelled bone's bounding box widened by METAL_REACH_MM (rods stand off the laminae). Returns
    whether any was found.
    """
    found = mask_box(labels > 0)
    if found is None:
        return False
    reach = np.ceil(METAL_REACH_MM / np.asarray(ct.spacing_mm)).astype(int)
    lo = np.maximum(np.array([b.start for b in found]) - reach, 0)
    hi = np.minimum(np.array([b.stop for b in found]) + reach, labels.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    hu = np.asarray(ct.voxels[box])
    core = hu > METAL_HU
    if not core.any():
        return False
    metal = core | (ndi.binary_dilation(core, structure=np.ones((3, 3, 3), bool)) & (hu > METAL_EDGE_HU))
    labels[box][metal] = label_id("metal")
    return True

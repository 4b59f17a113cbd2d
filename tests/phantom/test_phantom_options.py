"""Phantom options: intravenous contrast (the enhanced vessels and organs read in bone's HU range, as on
a real scan: Bae KT, Radiology 256(1), 2010; bone and labels unchanged) and storage order."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from kambin.anatomy.labels import LABELS
from kambin.phantom.contrast import ENHANCED_HU


def _mask(labels, prefix):
    return np.isin(labels, [label.id for label in LABELS if label.name.startswith(prefix)])


@pytest.mark.parametrize("phase", ["arterial", "venous"])
def test_enhanced_structures_read_their_phase_hu_and_the_bone_is_unchanged(patient_factory, phase):
    plain, enhanced = patient_factory(0, 2.0), patient_factory(0, 2.0, contrast=phase)
    labels = enhanced.labels.voxels
    assert np.array_equal(labels, plain.labels.voxels)
    for prefix, hu in ENHANCED_HU[phase].items():
        core = ndi.binary_erosion(_mask(labels, prefix))  # away from the partial-volume edge
        if not core.any():
            continue  # a vein narrower than two voxels of this grid
        median = float(np.median(enhanced.ct.voxels[core]))
        assert abs(median - hu) < 0.25 * hu + 15, (phase, prefix, median, hu)
    vertebrae = _mask(labels, "vertebrae_")
    assert np.array_equal(
        enhanced.ct.voxels[vertebrae & ndi.binary_erosion(vertebrae, iterations=2)],
        plain.ct.voxels[vertebrae & ndi.binary_erosion(vertebrae, iterations=2)],
    )
    assert float(np.median(enhanced.ct.voxels[ndi.binary_erosion(_mask(labels, "aorta"))])) > 150


@pytest.mark.parametrize("storage", ["sagittal", "coronal"])
def test_storage_keeps_every_voxel_at_its_lps_position(patient_factory, storage):
    from kambin.imaging.grid import reorient_like

    axial, stored = patient_factory(0, 2.0), patient_factory(0, 2.0, storage=storage)
    assert stored.ct.shape_ijk != axial.ct.shape_ijk
    assert not np.allclose(stored.ct.direction_lps, np.eye(3))
    assert np.array_equal(reorient_like(stored.ct, axial.ct).voxels, axial.ct.voxels)
    assert np.array_equal(reorient_like(stored.labels, axial.labels).voxels, axial.labels.voxels)

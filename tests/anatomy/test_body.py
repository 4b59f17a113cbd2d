"""The body mask is the same body whatever order the CT's voxels are stored in."""

import numpy as np

from kambin.anatomy.body import body_mask
from kambin.phantom import make_patient


def _in_lps_order(voxels: np.ndarray, direction_lps: np.ndarray) -> np.ndarray:
    """The array with its axes along +L, +P, +S (storage permuted and flipped back)."""
    axes = [int(np.argmax(np.abs(direction_lps[:, i]))) for i in range(3)]  # LPS axis of each voxel axis
    out = np.transpose(voxels, np.argsort(axes))
    for lps in range(3):
        if direction_lps[lps, axes.index(lps)] < 0:
            out = np.flip(out, axis=lps)
    return out


def test_body_mask_does_not_depend_on_the_storage_order():
    """Phantom seed 0 (3 mm) stored axially and sagittally: the same voxels are body, a fifth of the
    grid or more, with the bowel's gas inside it and the air around it outside."""
    axial = make_patient(0, spacing_mm=(3.0, 3.0, 3.0))
    sagittal = make_patient(0, spacing_mm=(3.0, 3.0, 3.0), storage="sagittal")
    expected = body_mask(axial.ct)
    got = _in_lps_order(body_mask(sagittal.ct), sagittal.ct.direction_lps)
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert 0.2 < expected.mean() < 0.9
    gas = axial.ct.voxels < -500
    assert (gas & expected).any() and (gas & ~expected).any()

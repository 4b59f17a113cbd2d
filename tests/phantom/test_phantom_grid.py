"""The grid is the caller's choice and changes nothing but the sampling: the truth is the same
at any spacing (anisotropic included), and the habitus option changes the body, not the spine."""

from __future__ import annotations

import numpy as np

from kambin.anatomy.labels import label_id


def test_anisotropic_grid_same_truth_same_field_of_view(patient_factory):
    from kambin.phantom import make_patient

    iso = patient_factory(0, 3.0)
    aniso = make_patient(0, spacing_mm=(2.1, 2.1, 4.5))
    np.testing.assert_allclose(aniso.ct.spacing_mm, [2.1, 2.1, 4.5])
    a, b = iso.truth.model_dump(), aniso.truth.model_dump()
    for key in ("spacing_mm", "shape_ijk", "voxel_to_lps"):
        a.pop(key), b.pop(key)
    assert a == b
    lo_a, hi_a = iso.ct.extent_lps_mm()
    lo_b, hi_b = aniso.ct.extent_lps_mm()
    np.testing.assert_allclose(lo_a, lo_b, atol=1e-6)
    assert np.all(np.abs(hi_a - hi_b) <= 4.5)
    # A lumbar CT's field of view: the whole body width, T12-L1 to the sacrum.
    extent = hi_a - lo_a
    assert 300 <= extent[0] <= 450 and 200 <= extent[1] <= 360 and 220 <= extent[2] <= 340


def test_habitus_changes_fat_not_spine(patient_factory):
    slim = patient_factory(5, 4.0, habitus="slim")
    obese = patient_factory(5, 4.0, habitus="obese")
    fat = label_id("subcutaneous_fat")
    assert (obese.labels.voxels == fat).sum() > 2.0 * (slim.labels.voxels == fat).sum()
    assert obese.truth.vertebrae["L4"] == slim.truth.vertebrae["L4"]
    assert obese.truth.morphometry["fat_thickness_mm"] > 2 * slim.truth.morphometry["fat_thickness_mm"]


def test_streaks_and_noise_options_change_only_the_ct(patient_factory):
    from kambin.phantom import make_patient

    plain = make_patient(2, spacing_mm=(4.0, 4.0, 4.0), noise=False)
    streaky = make_patient(2, spacing_mm=(4.0, 4.0, 4.0), noise=False, streaks=True)
    noisy = patient_factory(2, 4.0)
    np.testing.assert_array_equal(plain.labels.voxels, streaky.labels.voxels)
    np.testing.assert_array_equal(plain.labels.voxels, noisy.labels.voxels)
    diff = streaky.ct.voxels.astype(float) - plain.ct.voxels
    assert np.abs(diff).max() > 15.0  # streaks are there
    air = plain.ct.voxels[:, :3, :]
    assert air.std() < 2.0 and noisy.ct.voxels[:, :3, :].std() > 5.0

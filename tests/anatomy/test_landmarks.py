"""Vertebra landmarks on a phantom vertebra's true label, with the label damaged as a thick-slice
segmentation damages it."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.anatomy.labels import label_id
from kambin.anatomy.landmarks import vertebra_landmarks
from kambin.phantom import make_patient


@pytest.fixture(scope="module")
def patient():
    return make_patient(0, spacing_mm=(1.5, 1.5, 1.5), noise=False)


def test_body_depth_survives_a_top_that_holds_only_its_back_half(patient):
    """On 2 mm slices a stair-stepped top can lose the body's front (bench patient 9's L3): the
    half-depth, which outlines the disc, must not collapse to the back half's (it read 3.3 mm)."""
    l3 = label_id("vertebrae_L3")
    truth = patient.truth.vertebrae["L3"]
    intact = vertebra_landmarks(patient.labels, l3, "L3")
    voxels = np.asarray(patient.labels.voxels)
    ijk = np.argwhere(voxels == l3)
    lps = patient.labels.ijk_to_lps(ijk.astype(float))
    normal = np.asarray(truth.superior_endplate_normal_lps)
    below_top = (lps - truth.superior_endplate_centre_lps_mm) @ normal
    in_front = lps[:, 1] < truth.body_centre_lps_mm[1]
    cut = (below_top > -4.5) & in_front
    damaged = voxels.copy()
    damaged[tuple(ijk[cut].T)] = 0
    measured = vertebra_landmarks(patient.labels.with_voxels(damaged), l3, "L3")
    assert measured.body_half_depth_mm >= intact.body_half_depth_mm - 0.5
    assert measured.body_half_depth_mm <= truth.body_depth_mm / 2 + 1.0

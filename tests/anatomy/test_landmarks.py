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


@pytest.fixture(scope="module")
def thick_slices():
    """Bench patient 9's spine on its 2 mm slices (no lesion, no noise): its L4's endplates each fall
    within one slice, tilted 3 degrees across the body's depth."""
    return make_patient(9, spacing_mm=(0.9, 0.9, 2.0), noise=False)


def _truth_axis(truth) -> np.ndarray:
    top, bottom = np.asarray(truth.superior_endplate_normal_lps), np.asarray(truth.inferior_endplate_normal_lps)
    axis = top + bottom if top @ bottom > 0 else top - bottom
    return axis / np.linalg.norm(axis)


def test_body_axis_where_each_endplate_lies_in_one_slice(thick_slices):
    """Both endplate fits keep one slice's points (a slice plane): the body's lean is taken from its
    walls. With the slice planes' bisector the axis was 3.06 degrees off and the inferior endplate
    centre 1.03 mm."""
    truth = thick_slices.truth.vertebrae["L4"]
    measured = vertebra_landmarks(thick_slices.labels, label_id("vertebrae_L4"), "L4")
    angle = np.degrees(np.arccos(np.clip(measured.axes_lps[:, 2] @ _truth_axis(truth), -1.0, 1.0)))
    assert angle < 1.0
    for got, want in (
        (measured.superior_endplate_centre_lps_mm, truth.superior_endplate_centre_lps_mm),
        (measured.inferior_endplate_centre_lps_mm, truth.inferior_endplate_centre_lps_mm),
    ):
        assert np.linalg.norm(np.subtract(got, want)) < 1.0


def test_wall_lean_from_a_staircase_and_refused_where_the_walls_disagree():
    """`_sagittal_wall_tilt` on midline rows 2 mm apart whose walls step a 0.9 mm voxel every few rows:
    the least-squares lean, not the pairwise slopes' median (0 on a staircase); None where the two walls
    lean apart by more than WALL_LEAN_AGREEMENT_DEG."""
    from kambin.anatomy.landmarks_midline import _sagittal_wall_tilt

    def midline(front_lean_deg: float, post_lean_deg: float) -> np.ndarray:
        rows = []
        for w in np.arange(-12.0, 12.01, 2.0):
            front = np.round((-16.0 + np.tan(np.radians(front_lean_deg)) * w) / 0.9) * 0.9
            post = np.round((15.0 + np.tan(np.radians(post_lean_deg)) * w) / 0.9) * 0.9
            v = np.concatenate([np.arange(front, post + 0.01, 0.9), np.arange(post + 15.0, post + 20.0, 0.9)])
            rows.append(np.column_stack([np.zeros_like(v), v, np.full_like(v, w)]))
        return np.concatenate(rows)

    assert np.degrees(_sagittal_wall_tilt(midline(3.0, 3.0), 26.0, 2.0)) == pytest.approx(3.0, abs=0.5)
    assert np.degrees(_sagittal_wall_tilt(midline(2.0, 4.0), 26.0, 2.0)) == pytest.approx(3.0, abs=0.5)
    assert _sagittal_wall_tilt(midline(2.0, 7.0), 26.0, 2.0) is None

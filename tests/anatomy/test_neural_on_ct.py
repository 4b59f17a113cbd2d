"""Tracing the sac and the roots on the CT where fat outlines them (`anatomy.neural_on_ct`)."""

import numpy as np
import pytest

from kambin.anatomy.neural_on_ct import ROOT_RULE, SeenUncertainty, SmoothedCrop, paint_traced, trace_tube
from kambin.imaging.volume import Volume

SHAPE = (60, 60, 60)


def _ct_with_root(background_hu: float, seed: int = 0) -> tuple[Volume, np.ndarray]:
    """A 1 mm CT: a straight root (radius 2.6 mm, 32 HU) along z at x = y = 30 mm, in a background
    of fat or muscle, with 15 HU of noise; and the true root mask."""
    ijk = np.indices(SHAPE).astype(float)
    root = (ijk[0] - 30) ** 2 + (ijk[1] - 30) ** 2 <= 2.6**2
    hu = np.where(root, 32.0, background_hu) + np.random.default_rng(seed).normal(0, 15, SHAPE)
    return Volume.from_geometry(hu.astype(np.int16), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), modality="CT"), root


def _estimate(offset_mm: float) -> tuple[np.ndarray, np.ndarray]:
    z = np.arange(10.0, 51.0, 5.0)
    points = np.stack([np.full_like(z, 30.0 + offset_mm), np.full_like(z, 30.0), z], axis=1)
    return points, np.full(len(z), 2.6)


def test_a_root_in_fat_is_seen_where_it_is_not_where_estimated():
    ct, _ = _ct_with_root(-100.0)
    crop = SmoothedCrop(ct, np.zeros(SHAPE, bool), np.zeros(3), np.full(3, 59.0))
    points, radii = _estimate(offset_mm=3.0)
    traced = trace_tube(crop, "nerve_root_L4_left", points, radii, ROOT_RULE)
    assert traced.seen_fraction > 0.9
    seen = traced.points_lps_mm[traced.seen]
    assert np.abs(seen[:, 0] - 30.0).max() < 0.5 and np.abs(seen[:, 1] - 30.0).max() < 0.5
    assert traced.radii_mm[traced.seen] == pytest.approx(2.6, abs=0.5)
    assert np.all(traced.gap_mm[traced.seen] == 0)


def test_a_root_in_muscle_is_not_seen_and_keeps_the_estimate():
    ct, _ = _ct_with_root(46.0)
    crop = SmoothedCrop(ct, np.zeros(SHAPE, bool), np.zeros(3), np.full(3, 59.0))
    points, radii = _estimate(offset_mm=3.0)
    traced = trace_tube(crop, "nerve_root_L4_left", points, radii, ROOT_RULE)
    assert traced.seen_fraction == 0
    assert np.abs(traced.points_lps_mm[:, 0] - 33.0).max() < 1e-6
    assert np.all(np.isinf(traced.gap_mm))


def test_bone_next_to_the_root_is_not_taken_for_it():
    ct, _ = _ct_with_root(-100.0)
    bone = np.zeros(SHAPE, bool)
    bone[20:28, 25:35, :] = True  # bone touching the root's side
    voxels = np.where(bone, 400, ct.voxels).astype(np.int16)
    ct = ct.with_voxels(voxels)
    crop = SmoothedCrop(ct, bone, np.zeros(3), np.full(3, 59.0))
    points, radii = _estimate(offset_mm=0.0)
    traced = trace_tube(crop, "nerve_root_L4_left", points, radii, ROOT_RULE)
    assert traced.seen_fraction > 0.9
    assert np.abs(traced.points_lps_mm[traced.seen, 0] - 30.0).max() < 0.6


def test_painting_labels_the_seen_root_and_its_uncertainty():
    ct, truth = _ct_with_root(-100.0)
    crop = SmoothedCrop(ct, np.zeros(SHAPE, bool), np.zeros(3), np.full(3, 59.0))
    points, radii = _estimate(offset_mm=3.0)
    traced = trace_tube(crop, "nerve_root_L4_left", points, radii, ROOT_RULE)
    labels = np.zeros(SHAPE, np.uint8)
    uncertainty = np.zeros(SHAPE, np.float32)
    rule = SeenUncertainty(seen_mm=2.0, per_mm=0.4)
    paint_traced(labels, uncertainty, ct, traced, 7, traced.uncertainty_mm(rule, 7.0), np.zeros(SHAPE, bool))
    painted = labels == 7
    inside = truth[:, :, 12:49]
    dice = 2 * (painted[:, :, 12:49] & inside).sum() / (painted[:, :, 12:49].sum() + inside.sum())
    assert dice > 0.75, dice
    assert np.all(uncertainty[painted] >= 2.0) and np.all(uncertainty[~painted] == 0)
    assert np.median(uncertainty[painted]) == pytest.approx(2.0)

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


def test_an_offset_seen_beyond_a_bend_does_not_move_the_other_stretch():
    """A root descends in muscle (not seen), bends and runs laterally in fat (seen). The lateral stretch is
    estimated 2 mm too far back, the descent exactly: the seen sections correct the lateral stretch, and
    their offset is not carried across the bend into the descent."""
    ijk = np.indices(SHAPE).astype(float)
    descent = ((ijk[0] - 20) ** 2 + (ijk[1] - 30) ** 2 <= 2.6**2) & (ijk[2] <= 40)
    lateral = ((ijk[1] - 30) ** 2 + (ijk[2] - 40) ** 2 <= 2.6**2) & (ijk[0] >= 20)
    fat = (ijk[2] >= 34) & (ijk[0] >= 24)
    hu = np.where(descent | lateral, 32.0, np.where(fat, -100.0, 46.0))
    hu += np.random.default_rng(1).normal(0, 15, SHAPE)
    ct = Volume.from_geometry(hu.astype(np.int16), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), modality="CT")
    crop = SmoothedCrop(ct, np.zeros(SHAPE, bool), np.zeros(3), np.full(3, 59.0))
    z = np.arange(8.0, 40.0, 2.0)
    x = np.arange(22.0, 52.0, 2.0)
    points = np.concatenate(
        [np.stack([np.full_like(z, 20.0), np.full_like(z, 30.0), z], axis=1),
         np.stack([x, np.full_like(x, 32.0), np.full_like(x, 40.0)], axis=1)]
    )
    traced = trace_tube(crop, "nerve_root_L4_left", points, np.full(len(points), 2.6), ROOT_RULE)
    lateral_seen = traced.seen & (traced.points_lps_mm[:, 0] > 26.0)
    assert lateral_seen.sum() >= 10
    assert np.abs(traced.points_lps_mm[lateral_seen, 1] - 30.0).max() < 0.6
    descent_samples = traced.points_lps_mm[:, 2] < 36.0
    assert not traced.seen[descent_samples].any()
    assert np.abs(traced.points_lps_mm[descent_samples, 1] - 30.0).max() < 0.3

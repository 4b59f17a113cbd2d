"""Herniated fragments found on the CT next to their disc (`anatomy.herniation`)."""

import numpy as np

from kambin.anatomy.herniation import find_herniations
from kambin.imaging.volume import Volume

DISC_ID = 5


def _scene(fragment: bool, seed: int = 0):
    """1 mm grid in fat (-100 HU, 10 HU noise): a disc slab (85 HU) whose posterior margin is at
    y = 50 mm (LPS: +y is posterior), and optionally a 4.5 mm fragment (88 HU) behind its left part."""
    ijk = np.indices((80, 80, 80)).astype(float)
    disc = (ijk[0] >= 20) & (ijk[0] < 60) & (ijk[1] >= 20) & (ijk[1] < 50) & (ijk[2] >= 36) & (ijk[2] < 44)
    hu = np.where(disc, 85.0, -100.0)
    truth = np.zeros(disc.shape, bool)
    if fragment:
        truth = (ijk[0] - 50) ** 2 + (ijk[1] - 54.5) ** 2 + (ijk[2] - 40) ** 2 <= 4.5**2
        hu = np.where(truth, 88.0, hu)
    hu += np.random.default_rng(seed).normal(0, 10, hu.shape)
    ct = Volume.from_geometry(hu.astype(np.int16), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), modality="CT")
    labels = np.where(disc, DISC_ID, 0).astype(np.uint8)
    discs = {"L4-L5": (DISC_ID, np.array([39.5, 34.5, 39.5]), np.array([39.5, 49.5, 39.5]), np.array([0.0, 0.0, 1.0]))}
    return ct, labels, discs, truth


def test_a_fragment_behind_the_disc_is_found_whole_on_its_side():
    ct, labels, discs, truth = _scene(fragment=True)
    found = find_herniations(ct, labels, np.zeros(labels.shape, bool), discs)
    assert len(found) == 1
    hernia = found[0]
    assert hernia.level == "L4-L5" and hernia.side == "left"  # x > the disc's centre: the patient's left
    mask = np.zeros(labels.shape, bool)
    mask[tuple(hernia.mask_ijk.T)] = True
    outside_disc_space = truth & (labels == 0)
    # Half of it or more (the rim is blurred below LOW_HU by the smoothing; it is regained only where
    # denser than a nerve root, EDGE_HU, so that an adjacent root is never taken for fragment), and
    # nothing else. Measured: 212 of 402 voxels, 139 without the rim.
    assert (mask & outside_disc_space).sum() > 0.5 * outside_disc_space.sum()
    assert (mask & ~truth).sum() == 0
    assert np.linalg.norm(hernia.centroid_lps_mm - [50.0, 54.0, 40.0]) < 1.5


def test_no_fragment_no_herniation():
    ct, labels, discs, _ = _scene(fragment=False)
    assert find_herniations(ct, labels, np.zeros(labels.shape, bool), discs) == []

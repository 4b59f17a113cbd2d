"""Estimated structures widened by their local uncertainty (`planning.scene.envelope_mask`)."""

import numpy as np

from kambin.planning.scene import UNCERTAINTY_STEP_MM, envelope_mask


def test_envelope_is_the_union_of_balls_of_each_voxels_uncertainty():
    rng = np.random.default_rng(3)
    members = np.zeros((30, 30, 30), bool)
    members[10:20, 14:16, 14:16] = True
    uncertainty = np.where(members, rng.choice([0.0, 1.0, 2.5, 4.0], size=members.shape), 0.0)
    spacing = np.array([1.0, 1.0, 2.0])
    envelope = envelope_mask(members, uncertainty, spacing)
    grid = np.indices(members.shape).reshape(3, -1).T * spacing
    points = np.argwhere(members) * spacing
    radii = np.ceil(uncertainty[members] / UNCERTAINTY_STEP_MM) * UNCERTAINTY_STEP_MM
    distance = np.linalg.norm(grid[:, None, :] - points[None, :, :], axis=2)
    expected = (distance <= radii[None, :] + 1e-9).any(axis=1).reshape(members.shape)
    assert np.array_equal(envelope, expected)
    assert envelope.sum() > members.sum()

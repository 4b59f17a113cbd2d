"""Meshes from label volumes: bad input, then sizes and orientation against analytic shapes."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.anatomy.labels import BONE, DISC, NERVE, label_id
from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.render.meshes import UNKNOWN_COLOR, mesh_from_mask, meshes_from_labels, split_mesh, tube_mesh

RADIUS = 12.0


def _ball_mask(shape, spacing, origin, center, radius):
    grid = [origin[a] + spacing[a] * np.arange(shape[a]) for a in range(3)]
    x, y, z = np.meshgrid(*grid, indexing="ij", sparse=True)
    return (x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2 <= radius**2


@pytest.fixture(scope="module")
def ball():
    spacing, origin, center = (0.5, 0.6, 0.8), (-20.0, -18.0, -16.0), (1.0, -2.0, 3.0)
    mask = _ball_mask((80, 64, 44), spacing, origin, center, RADIUS)
    volume = Volume.from_geometry(mask.astype(np.int16), spacing, origin, modality="SEG")
    return volume, np.asarray(center)


def test_bad_input_is_refused(ball):
    volume, _ = ball
    with pytest.raises(InvalidInputError, match="target_reduction"):
        mesh_from_mask(volume.voxels > 0, volume.voxel_to_lps, target_reduction=1.0)
    with pytest.raises(InvalidInputError, match="not in the label volume"):
        meshes_from_labels(volume, [5])
    with pytest.raises(InvalidInputError, match="integer"):
        meshes_from_labels(volume.with_voxels(volume.voxels + 0.5))
    assert mesh_from_mask(np.zeros((4, 4, 4), bool), np.eye(4)) is None


@pytest.mark.parametrize("reduction", [0.0, 0.6])
def test_ball_surface_has_the_right_size_and_outward_normals(ball, reduction):
    volume, center = ball
    mesh = mesh_from_mask(volume.voxels > 0, volume.voxel_to_lps, target_reduction=reduction)
    radii = np.linalg.norm(mesh.vertices_lps_mm - center, axis=1)
    assert abs(radii.mean() - RADIUS) < 0.25
    assert mesh.volume_mm3() == pytest.approx(4 / 3 * np.pi * RADIUS**3, rel=0.03)
    assert mesh.area_mm2() == pytest.approx(4 * np.pi * RADIUS**2, rel=0.04)
    outward = np.sum(mesh.normals_lps * (mesh.vertices_lps_mm - center), axis=1) > 0
    assert outward.mean() > 0.99
    np.testing.assert_allclose(np.linalg.norm(mesh.normals_lps, axis=1), 1.0, atol=1e-3)


def test_decimation_reduces_triangles(ball):
    volume, _ = ball
    full = mesh_from_mask(volume.voxels > 0, volume.voxel_to_lps)
    reduced = mesh_from_mask(volume.voxels > 0, volume.voxel_to_lps, target_reduction=0.75)
    assert reduced.n_triangles < 0.3 * full.n_triangles


def test_mirrored_grid_keeps_normals_outward(ball):
    """A voxel_to_lps with negative determinant (e.g. a flipped axis) must not turn surfaces inside out."""
    volume, _ = ball
    flipped = volume.voxel_to_lps.copy()
    flipped[:3, 0] *= -1
    mesh = mesh_from_mask(volume.voxels > 0, flipped)
    assert mesh.volume_mm3() > 0
    center = mesh.vertices_lps_mm.mean(axis=0)
    assert (np.sum(mesh.normals_lps * (mesh.vertices_lps_mm - center), axis=1) > 0).mean() > 0.99


def test_label_meshes_take_registry_names_and_colours():
    voxels = np.zeros((40, 40, 40), np.uint16)
    voxels[5:15, 5:15, 5:15] = label_id("vertebrae_L4")
    voxels[20:30, 5:15, 5:15] = label_id("disc_L4_L5")
    voxels[5:15, 20:30, 5:15] = label_id("nerve_root_L4_left")
    voxels[20:30, 20:30, 20:30] = 199  # not in the registry
    labels = Volume.from_geometry(voxels, (1.0, 1.0, 1.0), modality="SEG")
    meshes = {m.name: m for m in meshes_from_labels(labels, target_reduction=0.3)}
    assert set(meshes) == {"vertebrae_L4", "disc_L4_L5", "nerve_root_L4_left", "label_199"}
    assert meshes["vertebrae_L4"].color_rgb == BONE
    assert meshes["disc_L4_L5"].color_rgb == DISC
    assert meshes["nerve_root_L4_left"].color_rgb == NERVE
    assert meshes["label_199"].color_rgb == UNKNOWN_COLOR
    only_bone = meshes_from_labels(labels, [label_id("vertebrae_L4")])
    assert [m.name for m in only_bone] == ["vertebrae_L4"]
    assert meshes_from_labels(labels, exclude=[199, label_id("disc_L4_L5")], target_reduction=0.3)[0].name


def test_split_mesh_keeps_every_triangle():
    tube = tube_mesh((0, 0, 0), (0, 100, 0), 5.0)
    pieces = split_mesh(tube, 20.0)
    assert len(pieces) >= 5
    assert sum(p.n_triangles for p in pieces) == tube.n_triangles
    assert sum(p.area_mm2() for p in pieces) == pytest.approx(tube.area_mm2())
    assert tube.volume_mm3() == pytest.approx(np.pi * 25 * 100, rel=0.02)

"""Slices: bad input, then sampled values against an analytic (linear) volume, then overlays."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.anatomy.labels import NERVE, label_id
from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.render.slices import (
    PATH_RGB,
    perpendicular_plane,
    render_slice,
    sample,
    standard_plane,
    trajectory_plane,
    window_image,
)

COEFFICIENTS = np.array([3.0, -2.0, 5.0])


def _linear(points):
    return points @ COEFFICIENTS + 7.0


@pytest.fixture(scope="module")
def volume() -> Volume:
    shape, spacing, origin = (50, 44, 36), (0.8, 0.9, 1.2), (-20.0, -19.0, -21.0)
    empty = Volume.from_geometry(np.zeros(shape, np.float32), spacing, origin)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).reshape(-1, 3)
    values = _linear(empty.ijk_to_lps(ijk)).reshape(shape).astype(np.float32)
    return empty.with_voxels(values)


def test_bad_input_is_refused(volume):
    with pytest.raises(InvalidInputError, match="orientation"):
        standard_plane(volume, "transverse")
    with pytest.raises(InvalidInputError, match="coincide"):
        trajectory_plane((1, 2, 3), (1, 2, 3))
    with pytest.raises(InvalidInputError, match="order"):
        sample(volume, standard_plane(volume, "axial"), order=3)
    with pytest.raises(InvalidInputError, match="window"):
        window_image(np.zeros(3), "lung")


def test_axial_slice_through_voxel_centres_is_the_voxel_plane():
    rng = np.random.default_rng(0)
    voxels = rng.normal(size=(30, 26, 12)).astype(np.float32)
    volume = Volume.from_geometry(voxels, (0.8, 0.8, 2.0), (-5.0, 3.0, -7.0))
    k = 7
    plane = standard_plane(volume, "axial", volume.ijk_to_lps(np.array([0.0, 0.0, k])))
    image = sample(volume, plane)
    assert plane.shape == (26, 30)  # rows run posterior (j), columns to the patient's left (i)
    np.testing.assert_allclose(image, voxels[:, :, k].T, atol=1e-5)


@pytest.mark.parametrize("orientation", ["axial", "sagittal", "coronal"])
def test_standard_planes_sample_a_linear_volume_exactly(volume, orientation):
    plane = standard_plane(volume, orientation, (1.3, -2.2, 0.7), pixel_mm=0.7)
    values = sample(volume, plane)
    points = plane.points_lps()
    inside = volume.contains_lps(points.reshape(-1, 3)).reshape(plane.shape)
    low, high = volume.extent_lps_mm()
    strictly = np.all((points >= low) & (points <= high), axis=-1)
    assert strictly.sum() > 100
    np.testing.assert_allclose(values[strictly], _linear(points[strictly]), rtol=1e-4, atol=1e-3)
    assert inside.any()


def test_oblique_planes_along_a_trajectory_sample_exactly(volume):
    entry, target = np.array([-12.0, -10.0, 8.0]), np.array([10.0, 9.0, -6.0])
    for plane in (trajectory_plane(entry, target, margin_mm=0, width_mm=10, pixel_mm=0.5),
                  perpendicular_plane(entry, target, 12.0, size_mm=12, pixel_mm=0.5)):
        values = sample(volume, plane)
        points = plane.points_lps()
        np.testing.assert_allclose(values, _linear(points), rtol=1e-4, atol=1e-3)
    plane = trajectory_plane(entry, target)
    pixels, distance = plane.to_pixels(np.stack([entry, target]))
    np.testing.assert_allclose(distance, 0.0, atol=1e-9)
    assert pixels[1, 0] > pixels[0, 0]  # entry on the left, target on the right
    assert abs(pixels[1, 1] - pixels[0, 1]) < 1e-9  # on one row
    across = perpendicular_plane(entry, target, 5.0)
    np.testing.assert_allclose(across.normal_lps, (target - entry) / np.linalg.norm(target - entry), atol=1e-12)


def test_overlays_draw_labels_path_and_points():
    ct = Volume.from_geometry(np.zeros((40, 40, 40), np.float32), (1.0, 1.0, 1.0), (-20, -20, -20))
    labels_voxels = np.zeros((40, 40, 40), np.uint16)
    labels_voxels[5:15, 5:15, :] = label_id("nerve_root_L4_left")
    labels = ct.with_voxels(labels_voxels, modality="SEG")
    entry, target = np.array([-15.0, 0.0, 0.0]), np.array([15.0, 0.0, 0.0])
    plane = standard_plane(ct, "axial", (0, 0, 0), pixel_mm=0.5)
    image = render_slice(ct, plane, labels=labels, window="soft", path_lps_mm=(entry, target),
                         points_lps_mm=np.array([[0.0, 10.0, 0.0]]))
    assert image.shape == (*plane.shape, 3) and image.dtype == np.uint8
    grey = window_image(np.zeros(1), "soft")[0]
    label_pixel = plane.to_pixels(np.array([[-10.0, -10.0, 0.0]]))[0][0].round().astype(int)
    tinted = image[label_pixel[1], label_pixel[0]].astype(float)
    expected = 0.6 * grey + 0.4 * np.asarray(NERVE) * 255
    np.testing.assert_allclose(tinted, expected, atol=2)
    middle = plane.to_pixels(np.array([[0.0, 0.0, 0.0]]))[0][0].round().astype(int)
    assert tuple(image[middle[1], middle[0]]) == PATH_RGB
    point = plane.to_pixels(np.array([[0.0, 10.0, 0.0]]))[0][0].round().astype(int)
    ring = image[point[1] - 6:point[1] + 7, point[0] - 6:point[0] + 7]
    assert (ring[:, :, 0] > 200).any()  # the point's circle is drawn around it

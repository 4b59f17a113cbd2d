"""Simulated fluoroscopy: bad input, then line integrals against numpy sums and analytic chords."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.render.drr import (
    CArmGeometry,
    DrrProjector,
    attenuation_from_hu,
    cylinder_chord_mm,
    drr,
    drr_reference,
    fluoro_image,
    tool_line_integrals,
)

SPACING = (1.0, 0.8, 1.5)
SHAPE = (40, 36, 30)


@pytest.fixture(scope="module")
def mu_volume() -> Volume:
    rng = np.random.default_rng(0)
    mu = ndimage.gaussian_filter(rng.random(SHAPE), 1.5).astype(np.float32) * 0.05
    inner = np.zeros(SHAPE, bool)
    inner[3:-3, 3:-3, 3:-3] = True  # air around the body, as in a CT
    mu[~inner] = 0.0
    return Volume.from_geometry(mu, SPACING, (-20.0, -14.0, -22.0), modality="unknown")


def _center(volume: Volume) -> np.ndarray:
    low, high = volume.extent_lps_mm()
    return (low + high) / 2.0


def test_bad_geometry_is_refused():
    with pytest.raises(InvalidInputError, match="view must be one of"):
        CArmGeometry((0, 0, 0), view="oblique")
    with pytest.raises(InvalidInputError, match="source_to_isocenter"):
        CArmGeometry((0, 0, 0), source_to_isocenter_mm=1200, source_to_detector_mm=1000)
    with pytest.raises(InvalidInputError, match="detector_pixels"):
        CArmGeometry((0, 0, 0), detector_pixels=(1, 512))
    with pytest.raises(InvalidInputError, match="isocenter"):
        CArmGeometry((0, np.nan, 0))


def test_source_inside_the_volume_is_refused(mu_volume):
    geometry = CArmGeometry(tuple(_center(mu_volume)), source_to_isocenter_mm=10, source_to_detector_mm=100,
                            detector_pixels=(8, 8))
    with pytest.raises(InvalidInputError, match="inside the CT volume"):
        DrrProjector.from_attenuation(mu_volume).line_integrals(geometry)


def test_attenuation_from_hu():
    mu = attenuation_from_hu(np.array([-1000.0, -1500.0, 0.0, 1000.0]))
    np.testing.assert_allclose(mu, [0.0, 0.0, 0.02, 0.04], atol=1e-7)


@pytest.mark.parametrize("view", ["ap", "lateral"])
def test_parallel_drr_equals_numpy_line_integral(mu_volume, view):
    """Parallel rays through the voxel centres: the DRR is the sum along the axis times the spacing."""
    mu = mu_volume.voxels
    if view == "ap":  # ray +P (axis j), columns +L (axis i), rows toward the feet (axis k reversed)
        expected = (mu.sum(axis=1) * SPACING[1]).T[::-1]
        size = (SHAPE[0] * SPACING[0], SHAPE[2] * SPACING[2])
        pixels = (SHAPE[0], SHAPE[2])
    else:  # ray +L (axis i), columns anterior (axis j reversed), rows toward the feet
        expected = (mu.sum(axis=0) * SPACING[0]).T[::-1, ::-1]
        size = (SHAPE[1] * SPACING[1], SHAPE[2] * SPACING[2])
        pixels = (SHAPE[1], SHAPE[2])
    geometry = CArmGeometry(tuple(_center(mu_volume)), view=view, parallel=True,
                            detector_size_mm=size, detector_pixels=pixels)
    image = DrrProjector.from_attenuation(mu_volume).line_integrals(geometry)
    assert image.shape == expected.shape
    correlation = np.corrcoef(image.ravel(), expected.ravel())[0, 1]
    assert correlation > 0.999
    np.testing.assert_allclose(image, expected, rtol=1e-3, atol=1e-4)


def test_oblique_parallel_drr_matches_reference_ray_marching(mu_volume):
    geometry = CArmGeometry(tuple(_center(mu_volume)), lao_deg=35.0, cran_deg=-20.0, parallel=True,
                            detector_size_mm=(60.0, 60.0), detector_pixels=(24, 24))
    image = DrrProjector.from_attenuation(mu_volume).line_integrals(geometry)
    reference = drr_reference(mu_volume, geometry, step_mm=0.1)
    assert np.corrcoef(image.ravel(), reference.ravel())[0, 1] > 0.999
    assert np.abs(image - reference).max() < 0.02 * reference.max()


@pytest.fixture(scope="module")
def sphere():
    """A uniform sphere (radius 20 mm, mu 0.02/mm) with partial-volume edges, 0.5 mm voxels."""
    radius, spacing, n = 20.0, 0.5, 96
    center = np.array([3.0, -2.0, 5.0])
    origin = center - spacing * (n - 1) / 2.0 + np.array([0.13, -0.21, 0.07])
    grid = [origin[a] + spacing * np.arange(n) for a in range(3)]
    x, y, z = np.meshgrid(*grid, indexing="ij", sparse=True)
    distance = np.sqrt((x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2)
    occupancy = np.clip((radius - distance) / spacing + 0.5, 0.0, 1.0).astype(np.float32)
    volume = Volume.from_geometry(0.02 * occupancy, (spacing,) * 3, tuple(origin), modality="unknown")
    return volume, center, radius


def test_cone_beam_drr_of_a_sphere_matches_analytic_chords(sphere):
    volume, center, radius = sphere
    geometry = CArmGeometry(tuple(center + [4.0, 0.0, -3.0]), lao_deg=25.0, cran_deg=-15.0,
                            source_to_detector_mm=1000.0, source_to_isocenter_mm=600.0,
                            detector_size_mm=(90.0, 90.0), detector_pixels=(96, 96))
    image = DrrProjector.from_attenuation(volume).line_integrals(geometry)
    origins, ends = geometry.rays_lps()
    direction = ends - origins
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    to_center = center - origins
    along = np.sum(to_center * direction, axis=-1)
    miss_sq = np.sum(to_center * to_center, axis=-1) - along**2
    chord_mm = 2.0 * np.sqrt(np.clip(radius**2 - miss_sq, 0.0, None))
    measured_mm = image / 0.02
    # Away from the grazing rim, where the half-voxel partial-volume edge and the bilinear
    # interpolation blur the chord (d chord / d miss distance grows without bound there).
    inside = chord_mm > 12.0
    error = measured_mm[inside] - chord_mm[inside]
    assert inside.sum() > 3000
    assert np.abs(error).mean() < 0.05
    assert np.abs(error).max() < 0.35
    core = chord_mm > 30.0
    assert np.abs(measured_mm[core] - chord_mm[core]).max() < 0.2
    # The centre of the sphere projects onto the centroid of its shadow.
    weights = image / image.sum()
    rows, columns = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    centroid = np.array([(weights * columns).sum(), (weights * rows).sum()])
    assert np.linalg.norm(centroid - geometry.project(center)[0]) < 0.5


def test_reference_marching_agrees_on_the_sphere(sphere):
    volume, center, _ = sphere
    geometry = CArmGeometry(tuple(center), lao_deg=10.0, detector_size_mm=(90.0, 90.0), detector_pixels=(16, 16))
    fast = DrrProjector.from_attenuation(volume).line_integrals(geometry)
    reference = drr_reference(volume, geometry, step_mm=0.1)
    assert np.abs(fast - reference).max() < 0.01 * reference.max()


def test_view_orientation_follows_the_radiological_convention():
    """A dense ball on the patient's left shows right of centre in AP; an anterior one right of
    centre in the lateral; a superior one above centre in both."""
    n, spacing = 48, 2.0
    hu = np.full((n, n, n), -1000.0, np.float32)
    origin = -spacing * (n - 1) / 2.0
    ct = Volume.from_geometry(hu, (spacing,) * 3, (origin,) * 3)

    def ball_at(point):
        ijk = np.round(ct.lps_to_ijk(np.asarray(point, float))).astype(int)
        voxels = hu.copy()
        voxels[tuple(slice(i - 2, i + 3) for i in ijk)] = 1000.0
        return ct.with_voxels(voxels)

    for point, view, column_sign, row_sign in [
        ((30, 0, 0), "ap", +1, 0), ((0, -30, 0), "lateral", +1, 0), ((0, 0, 30), "ap", 0, -1),
        ((0, 0, 30), "lateral", 0, -1),
    ]:
        geometry = CArmGeometry((0.0, 0.0, 0.0), view=view, detector_pixels=(64, 64))
        image = drr(ball_at(point), geometry)
        row, column = np.unravel_index(np.argmax(image), image.shape)
        assert np.sign(round((column - 31.5) / 8)) == column_sign, (point, view)
        assert np.sign(round((row - 31.5) / 8)) == row_sign, (point, view)


def test_cylinder_chords_are_exact_for_a_needle_across_parallel_rays():
    geometry = CArmGeometry((0.0, 0.0, 0.0), parallel=True, detector_size_mm=(20.0, 20.0), detector_pixels=(41, 41))
    # Needle along L-R (+x), across the AP rays, through the isocentre; radius 3 mm.
    chord = cylinder_chord_mm(geometry, (-5.0, 0.0, 0.0), (5.0, 0.0, 0.0), 3.0)
    offset_mm = (np.arange(41) - 20) * 20.0 / 41  # rows are the S-I offset from the axis
    expected_row = 2.0 * np.sqrt(np.clip(9.0 - offset_mm**2, 0, None))
    np.testing.assert_allclose(chord[:, 20], expected_row, atol=1e-9)
    assert chord[20, 0] == 0.0  # beyond the needle's end (x = -9.8 mm)
    # Along the rays (AP), the chord is the needle length wherever the ray is within the radius.
    along = cylinder_chord_mm(geometry, (0.0, -4.0, 0.0), (0.0, 6.0, 0.0), 3.0)
    assert along[20, 20] == pytest.approx(10.0)
    tube = tool_line_integrals(geometry, (-5.0, 0.0, 0.0), (5.0, 0.0, 0.0), 6.0, wall_mm=0.5, mu_per_mm=1.0)
    assert tube[20, 20] == pytest.approx(2 * 0.5)  # two walls on the central ray


def test_fluoro_image_shows_air_bright_and_bone_dark():
    integrals = np.zeros((64, 64), np.float32)
    integrals[16:48, 16:48] = 1.0  # soft tissue
    integrals[28:36, 28:36] = 3.0  # bone
    image = fluoro_image(integrals, circular_field=False)
    assert image[2, 2] > image[20, 20] > image[32, 32]
    inverted = fluoro_image(integrals, invert=True, circular_field=True)
    assert inverted[32, 32] > inverted[20, 20]
    assert inverted[0, 0] == 0  # outside the round field
    with pytest.raises(InvalidInputError):
        fluoro_image(np.zeros(5))


@pytest.mark.parametrize(("lao", "cran"), [(25.0, -15.0), (80.0, 10.0)])
def test_array_library_path_equals_the_opencv_path(sphere, lao, cran):
    """The numpy/scipy path (the one CuPy runs on a GPU) gives the OpenCV path's line integrals."""
    volume, center, _ = sphere
    geometry = CArmGeometry(tuple(center + [4.0, 0.0, -3.0]), lao_deg=lao, cran_deg=cran,
                            source_to_detector_mm=1000.0, source_to_isocenter_mm=600.0,
                            detector_size_mm=(90.0, 90.0), detector_pixels=(64, 48))
    projector = DrrProjector.from_attenuation(volume)
    opencv = projector.line_integrals(geometry)
    array = projector.line_integrals_array(geometry, batch_slices=7)
    assert array.shape == opencv.shape and array.dtype == np.float32
    # OpenCV's remap works in fixed point (1/32 pixel), scipy in float: they agree to that.
    np.testing.assert_allclose(array, opencv, rtol=0, atol=2e-3 * float(opencv.max()))
    assert np.corrcoef(array.ravel(), opencv.ravel())[0, 1] > 0.99999

"""The endoscope camera: bad input, projection against OpenCV, then rendered pixels against it."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from kambin.calibration.intrinsics import CameraIntrinsics
from kambin.errors import InvalidInputError
from kambin.geometry import from_axis_angle, invert
from kambin.render.endoscope import EndoscopeCamera, project_points, scope_pose, undistort_pixels
from kambin.render.meshes import sphere_mesh, tube_mesh
from kambin.render.scene import EndoscopeRenderer

DISTORTION = (-0.2, 0.05, 0.001, -0.0015, 0.0)


def _cv2_project(points, camera_to_ct, intrinsics):
    ct_to_camera = invert(camera_to_ct)
    rvec = cv2.Rodrigues(ct_to_camera[:3, :3])[0]
    uv, _ = cv2.projectPoints(points.reshape(-1, 1, 3), rvec, ct_to_camera[:3, 3], intrinsics.matrix,
                              intrinsics.dist_coeffs)
    return uv.reshape(-1, 2)


def test_bad_camera_input_is_refused():
    with pytest.raises(InvalidInputError, match="field of view"):
        CameraIntrinsics.from_fov(640, 480, 0.0)
    with pytest.raises(InvalidInputError, match="distortion"):
        CameraIntrinsics(640, 480, 500, 500, 320, 240, (0.1, 0.2))
    with pytest.raises(InvalidInputError, match="optics angle"):
        EndoscopeCamera.create(optics_angle_deg=95)
    with pytest.raises(InvalidInputError, match="near"):
        EndoscopeCamera.create(near_mm=10, far_mm=5)
    with pytest.raises(InvalidInputError, match="non-zero"):
        scope_pose((0, 0, 0), (0, 0, 0))
    with pytest.raises(InvalidInputError, match="empty"):
        EndoscopeRenderer([], EndoscopeCamera.create(64, 48))


def test_project_points_equals_opencv_project_points():
    rng = np.random.default_rng(0)
    intrinsics = CameraIntrinsics(1280, 720, 610.0, 605.0, 652.3, 347.9, DISTORTION)
    for _ in range(20):
        camera_to_ct = from_axis_angle(rng.normal(size=3), rng.normal(scale=50.0, size=3))
        local = np.column_stack([rng.uniform(-8, 8, 50), rng.uniform(-6, 6, 50), rng.uniform(5, 40, 50)])
        points = local @ camera_to_ct[:3, :3].T + camera_to_ct[:3, 3]
        uv, in_front = project_points(points, camera_to_ct, intrinsics)
        assert in_front.all()
        assert np.abs(uv - _cv2_project(points, camera_to_ct, intrinsics)).max() < 1e-6


def test_undistort_inverts_distortion():
    intrinsics = CameraIntrinsics(640, 480, 300.0, 300.0, 319.5, 239.5, DISTORTION)
    rng = np.random.default_rng(1)
    xy = rng.uniform(-0.8, 0.8, size=(200, 2))
    points = np.column_stack([xy, np.ones(200)])
    uv, _ = project_points(points, np.eye(4), intrinsics)
    np.testing.assert_allclose(undistort_pixels(uv, intrinsics), xy, atol=1e-8)


def test_scope_pose_and_optics_angle():
    pose = scope_pose((1.0, 2.0, 3.0), (0.0, 2.0, 0.0))
    np.testing.assert_allclose(pose[:3, 3], (1, 2, 3))
    np.testing.assert_allclose(pose[:3, 2], (0, 1, 0), atol=1e-12)  # shaft along +P
    np.testing.assert_allclose(pose[:3, 1], (0, 0, -1), atol=1e-12)  # image down = inferior
    camera = EndoscopeCamera.create(optics_angle_deg=30.0, distortion=(0, 0, 0, 0, 0))
    view = camera.camera_to_ct(pose)[:3, 2]
    assert np.degrees(np.arccos(view @ pose[:3, 2])) == pytest.approx(30.0)
    assert view[2] > 0  # tilted toward the top of the image: superior
    # The shaft axis projects below the centre, at v = cy + fy tan(30 deg).
    uv, _ = project_points(pose[:3, 3] + 20 * pose[:3, 2], camera.camera_to_ct(pose), camera.intrinsics)
    k = camera.intrinsics
    np.testing.assert_allclose(uv[0], (k.cx, k.cy + k.fy * np.tan(np.radians(30))), atol=1e-9)


POINTS_CAMERA = np.array([[2.0, 1.0, 10.0], [-3.0, 4.0, 15.0], [0.0, -3.5, 12.0], [5.0, 0.5, 20.0], [-4.0, -3.0, 11.0]])


@pytest.fixture(scope="module")
def spheres_view():
    """Small spheres at known points, rendered through a 30-degree scope with distortion."""
    camera = EndoscopeCamera.create(640, 480, optics_angle_deg=30.0, fov_deg=80.0, distortion=DISTORTION)
    pose = scope_pose((10.0, -20.0, 5.0), (0.3, 1.0, -0.2), roll_deg=20.0)
    camera_to_ct = camera.camera_to_ct(pose)
    points = POINTS_CAMERA @ camera_to_ct[:3, :3].T + camera_to_ct[:3, 3]
    meshes = [dataclasses.replace(sphere_mesh(p, 0.25, resolution=32), label_id=i + 1) for i, p in enumerate(points)]
    with EndoscopeRenderer(meshes, camera) as renderer:
        frame = renderer.render(pose, with_labels=True)
    return camera, camera_to_ct, points, frame


def test_rendered_points_land_where_opencv_projects_them(spheres_view):
    """The brightness centroid of each small sphere's image is within 0.5 px of cv2.projectPoints."""
    camera, camera_to_ct, points, frame = spheres_view
    expected = _cv2_project(points, camera_to_ct, camera.intrinsics)
    grey = frame.color_rgb.astype(float).mean(axis=2)
    rows, columns = np.mgrid[0:grey.shape[0], 0:grey.shape[1]]
    for index, uv in enumerate(expected, start=1):
        weight = grey * (frame.label_ids == index)
        assert (frame.label_ids == index).sum() > 20, f"sphere {index} not rendered"
        centroid = np.array([(weight * columns).sum(), (weight * rows).sum()]) / weight.sum()
        assert np.linalg.norm(centroid - uv) < 0.5, (index, centroid, uv)


def test_label_pixels_match_an_independent_ray_cast(spheres_view):
    """Pixels whose (cv2-undistorted) ray hits a sphere are the pixels labelled with it."""
    camera, camera_to_ct, _, frame = spheres_view
    k = camera.intrinsics
    rows, columns = np.mgrid[0:k.height, 0:k.width]
    xy = undistort_pixels(np.column_stack([columns.ravel(), rows.ravel()]), k)
    rays = np.column_stack([xy, np.ones(len(xy))])
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    for index, center in enumerate(POINTS_CAMERA, start=1):
        along = rays @ center
        hit = ((center @ center - along**2) < 0.25**2).reshape(k.height, k.width)
        labelled = frame.label_ids == index
        assert (hit & labelled).sum() / (hit | labelled).sum() > 0.85


def test_depth_is_the_camera_z_of_the_visible_surface(spheres_view):
    camera, camera_to_ct, points, frame = spheres_view
    uv = _cv2_project(points, camera_to_ct, camera.intrinsics)
    for (u, v), z in zip(uv, POINTS_CAMERA[:, 2], strict=True):
        depth = frame.depth_mm[int(round(v)), int(round(u))]
        assert abs(depth - (z - 0.25)) < 0.08  # the sphere's near side
    assert np.isinf(frame.depth_mm[0, 0]) and np.all(frame.color_rgb[0, 0] == 0)  # outside the field stop


@pytest.fixture(scope="module")
def wall_views():
    """A white wall facing a 0-degree scope at 10 mm and at 20 mm."""
    camera = EndoscopeCamera.create(160, 120, optics_angle_deg=0.0, distortion=(0, 0, 0, 0, 0), light_falloff_mm=14.0)
    pose = scope_pose((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    frames = {}
    for distance in (10.0, 20.0):
        wall = tube_mesh((0.0, distance, 0.0), (0.0, distance + 1.0, 0.0), 200.0, color_rgb=(0.5,) * 3, resolution=64)
        with EndoscopeRenderer([wall], camera, chunk_mm=None) as renderer:
            frames[distance] = renderer.render(pose)
    return camera, frames


def test_wall_depth_is_flat_and_exact(wall_views):
    camera, frames = wall_views
    inside = camera.field_stop_mask()
    for distance, frame in frames.items():
        assert np.abs(frame.depth_mm[inside] - distance).max() < 0.02


def test_tip_light_falls_off_with_distance(wall_views):
    camera, frames = wall_views
    k = camera.intrinsics
    centre = (int(k.cy), int(k.cx))
    near, far = (frames[d].color_rgb[centre].astype(float).mean() for d in (10.0, 20.0))
    expected = (1 + (20 / 14) ** 2) / (1 + (10 / 14) ** 2)
    assert near / far == pytest.approx(expected, rel=0.15)
    # Within one frame, the wall is darker toward the rim (farther from the tip, more oblique).
    frame = frames[10.0].color_rgb.astype(float).mean(axis=2)
    assert frame[centre] > frame[centre[0], int(k.cx + 0.8 * camera.field_stop_radius_px)] * 1.3

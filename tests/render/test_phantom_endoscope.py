"""The virtual endoscope in the synthetic patient: placed in the L4-L5 left foramen looking at
the disc, it shows the exiting root (L4) where the root's ground-truth centreline projects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import kambin.phantom as phantom
from kambin.anatomy.labels import label_id
from kambin.imaging import Volume
from kambin.render.endoscope import EndoscopeCamera, project_points, scope_pose
from kambin.render.meshes import meshes_from_labels
from kambin.render.scene import EndoscopeRenderer

STRUCTURES = ("vertebrae_L4", "vertebrae_L5", "disc_L4_L5", "nerve_root_L4_left", "nerve_root_L5_left",
              "dural_sac", "epidural_fat", "ligamentum_flavum")
APPROACH_DEG = 30.0  # path angle from the coronal plane, posterolateral, as in a transforaminal approach
TIP_BEFORE_TARGET_MM = 6.0


@pytest.fixture(scope="module")
def foramen_view():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        patient = phantom.make_patient(0, spacing_mm=(1.5, 1.5, 1.5), noise=False)
    side = patient.truth.levels["L4-L5"].left
    target = np.mean(side.kambin_triangle_lps_mm, axis=0)  # on the posterior disc surface
    # Mesh only a 90 mm box around the foramen: the scope sees no farther (far plane 50 mm).
    labels = patient.labels
    centre = np.round(labels.lps_to_ijk(target)).astype(int)
    half = np.ceil(45.0 / labels.spacing_mm).astype(int)
    low = np.maximum(centre - half, 0)
    high = np.minimum(centre + half, labels.shape_ijk)
    crop = labels.voxels[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    voxel_to_lps = labels.voxel_to_lps.copy()
    voxel_to_lps[:3, 3] = labels.ijk_to_lps(low.astype(float))
    cropped = Volume(crop, voxel_to_lps, modality="SEG")
    present = set(np.unique(crop).tolist())
    ids = [label_id(n) for n in STRUCTURES if label_id(n) in present]
    meshes = meshes_from_labels(cropped, ids, target_reduction=0.6)
    a = np.radians(APPROACH_DEG)
    outward = np.array([np.cos(a), np.sin(a), 0.0])  # toward the patient's left and posterior
    tip = target + TIP_BEFORE_TARGET_MM * outward
    camera = EndoscopeCamera.create(640, 480, optics_angle_deg=30.0)
    pose = scope_pose(tip, -outward)
    with EndoscopeRenderer(meshes, camera) as renderer:
        frame = renderer.render(pose, with_labels=True)
    return side, camera, frame


def test_the_scope_looks_at_the_disc(foramen_view):
    side, camera, frame = foramen_view
    inside = camera.field_stop_mask()
    disc = (frame.label_ids == label_id("disc_L4_L5"))[inside].mean()
    assert disc > 0.15, f"disc fills only {disc:.0%} of the view"


def test_exiting_root_pixels_where_the_true_root_projects(foramen_view):
    side, camera, frame = foramen_view
    assert side.exiting_root == "nerve_root_L4_left"
    centreline = np.asarray(side.exiting_root_centerline_lps_mm)
    uv, in_front = project_points(centreline, frame.camera_to_ct, camera.intrinsics)
    k = camera.intrinsics
    radius = np.hypot(uv[:, 0] - k.cx, uv[:, 1] - k.cy)
    distance = np.linalg.norm(centreline - frame.camera_to_ct[:3, 3], axis=1)
    seen = in_front & (radius < camera.field_stop_radius_px - 5) & (distance < camera.far_mm)
    assert seen.sum() >= 8, "the root's centreline should cross the view"
    pixels = np.round(uv[seen]).astype(int)
    labels_there = frame.label_ids[pixels[:, 1], pixels[:, 0]]
    on_root = labels_there == label_id("nerve_root_L4_left")
    print(f"root points in view: {seen.sum()}, on root pixels: {on_root.mean():.2f}")
    assert on_root.mean() > 0.7, f"only {on_root.mean():.0%} of {seen.sum()} projected root points show the root"
    # And those pixels are yellow (the registry's nerve colour, lit): red and green well above blue.
    rgb = frame.color_rgb[pixels[on_root, 1], pixels[on_root, 0]].astype(float)
    assert np.all(rgb[:, 0] > 1.5 * rgb[:, 2] + 10) and np.all(rgb[:, 1] > 1.3 * rgb[:, 2] + 5)

"""Rendering speed: virtual endoscope frames per second, and DRR time, each against a baseline
measured in the same run.

- Endoscope: the synthetic patient's scene (kambin.phantom; a stand-in built from analytic
  shapes if the phantom is not importable, named in the `scene` field) rendered along the
  planned path at 640x480 and 1280x720, through the full pipeline (render, read back colour and
  depth, distortion remap, field stop). Ours: decimated meshes cut into 40 mm blocks for
  frustum culling. Baseline: a plain render of the full-resolution meshes (no decimation, one
  actor per structure), same poses, same pipeline. Target: 30 fps at 640x480 on 2 cores.
- DRR: 512x512 pixels from a 512x512x300 CT, Joseph's method (kambin.render.drr), against the
  straightforward trilinear ray marching (`drr_reference`, step 1 mm) timed on a band of rows
  and scaled to the full image. Target: under 0.5 s.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from kambin.imaging import Volume
from kambin.render.drr import CArmGeometry, DrrProjector, attenuation_from_hu, drr_reference
from kambin.render.endoscope import EndoscopeCamera, scope_pose
from kambin.render.meshes import meshes_from_labels
from kambin.render.scene import EndoscopeRenderer
from kambin.render.views import ENDOSCOPE_EXCLUDED_IDS

FRAMES = 60
REDUCTION = 0.9  # quadric decimation: fraction of triangles removed for the fast scene


def _phantom_scene():
    """(ct, labels, entry, target, name) of the synthetic patient, or None if unavailable.

    The path is a transforaminal one to the L4-L5 left Kambin triangle (its centroid, on the
    posterior disc surface), 110 mm long, 30 degrees from the coronal plane.
    """
    try:
        from kambin.phantom import make_patient
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        patient = make_patient(0)
    target = np.mean(patient.truth.levels["L4-L5"].left.kambin_triangle_lps_mm, axis=0)
    a = np.radians(30.0)
    entry = target + 110.0 * np.array([np.cos(a), np.sin(a), 0.0])
    return patient.ct, patient.labels, entry, target, "kambin.phantom.make_patient(0), 1 mm"


def _stand_in_scene():
    """Analytic stand-in: vertebral bodies, discs and exiting roots on a 512x512x300 grid."""
    shape, spacing = (512, 512, 300), (0.7, 0.7, 1.0)
    origin = tuple(-(n - 1) * s / 2 for n, s in zip(shape, spacing, strict=True))
    x = origin[0] + spacing[0] * np.arange(shape[0])[:, None, None]
    y = origin[1] + spacing[1] * np.arange(shape[1])[None, :, None]
    z = origin[2] + spacing[2] * np.arange(shape[2])[None, None, :]
    labels = np.zeros(shape, np.uint16)
    hu = np.full(shape, -1000.0, np.float32)
    body = (x / 150.0) ** 2 + (y / 110.0) ** 2 <= 1.0
    hu[np.broadcast_to(body, shape)] = 20.0
    in_disc_xy = (x / 25.0) ** 2 + ((y + 5) / 18.0) ** 2 <= 1.0
    for n, (vertebra, disc, root) in enumerate([(29, 202 + 3, 230), (28, 206, 232), (27, 207, 234)]):
        zc = -70.0 + n * 40.0
        bone = in_disc_xy & (np.abs(z - zc) <= 14.0)
        labels[np.broadcast_to(bone, shape)] = vertebra
        hu[np.broadcast_to(bone, shape)] = 450.0
        disc_mask = in_disc_xy & (np.abs(z - zc - 20.0) <= 5.0)
        labels[np.broadcast_to(disc_mask, shape)] = disc
        hu[np.broadcast_to(disc_mask, shape)] = 90.0
        # Exiting roots: tubes running laterally, below each pedicle.
        for side in (1, -1):
            t = np.clip((side * x - 10.0) / 40.0, 0.0, 1.0)
            cx, cy, cz = side * (10.0 + 40.0 * t), 20.0 + 5.0 * t, zc + 12.0 - 10.0 * t
            tube = ((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= 3.0**2) & (side * x > 10.0) & (side * x < 50.0)
            labels[tube] = root + (0 if side > 0 else 1)
    ct = Volume.from_geometry(hu, spacing, origin)
    entry, target = np.array([90.0, 70.0, -30.0]), np.array([20.0, 10.0, -38.0])
    return ct, ct.with_voxels(labels, modality="SEG"), entry, target, "analytic stand-in"


def _poses(entry, target, n):
    direction = target - entry
    length = np.linalg.norm(direction)
    depths = np.linspace(0.6 * length, length, n)
    return [scope_pose(entry + direction * d / length, direction, roll_deg=10.0 * np.sin(i / 5))
            for i, d in enumerate(depths)]


def _fps(meshes, camera, poses, chunk_mm):
    with EndoscopeRenderer(meshes, camera, chunk_mm=chunk_mm) as renderer:
        renderer.render(poses[0])  # warm up (shader compilation, buffer upload)
        start = time.perf_counter()
        for pose in poses:
            renderer.render(pose)
        return len(poses) / (time.perf_counter() - start)


def run(report) -> None:
    scene = _phantom_scene() or _stand_in_scene()
    ct, labels, entry, target, scene_name = scene
    start = time.perf_counter()
    plain = meshes_from_labels(labels, exclude=ENDOSCOPE_EXCLUDED_IDS, target_reduction=0.0)
    mesh_time = time.perf_counter() - start
    start = time.perf_counter()
    fast = meshes_from_labels(labels, exclude=ENDOSCOPE_EXCLUDED_IDS, target_reduction=REDUCTION)
    fast_mesh_time = time.perf_counter() - start
    triangles_plain = sum(m.n_triangles for m in plain)
    triangles_fast = sum(m.n_triangles for m in fast)
    poses = _poses(entry, target, FRAMES)
    cores = os.cpu_count()
    for width, height in ((640, 480), (1280, 720)):
        camera = EndoscopeCamera.create(width, height, optics_angle_deg=30.0)
        fps_fast = _fps(fast, camera, poses, 40.0)
        fps_plain = _fps(plain, camera, poses, None)
        report(
            name=f"endoscope_fps_{width}x{height}",
            value=round(fps_fast, 1),
            unit="frames/s",
            baseline="plain render of the full-resolution meshes (no decimation, no culling), same poses",
            baseline_value=round(fps_plain, 1),
            target_fps=30.0 if width == 640 else None,
            triangles=triangles_fast,
            triangles_baseline=triangles_plain,
            scene=scene_name,
            frames=len(poses),
            cpu_cores=cores,
        )
    report(name="mesh_extraction_s", value=round(fast_mesh_time, 2), unit="s",
           baseline="same without decimation", baseline_value=round(mesh_time, 2),
           structures=len(fast), scene=scene_name)

    hu = np.asarray(ct.voxels, dtype=np.float32)
    if hu.shape != (512, 512, 300):
        from scipy import ndimage

        hu = ndimage.zoom(hu, np.array((512, 512, 300)) / np.array(hu.shape), order=1)
        spacing = np.asarray(ct.spacing_mm) * np.array(ct.shape_ijk) / np.array((512, 512, 300))
        ct = Volume.from_geometry(hu, tuple(spacing), tuple(ct.origin_lps_mm))
    center = tuple((np.add(*ct.extent_lps_mm())) / 2)
    start = time.perf_counter()
    projector = DrrProjector(ct)
    prepare_time = time.perf_counter() - start
    for view in ("ap", "lateral"):
        geometry = CArmGeometry(center, view=view, detector_pixels=(512, 512))
        start = time.perf_counter()
        first = projector.line_integrals(geometry)
        first_time = time.perf_counter() - start
        start = time.perf_counter()
        projector.line_integrals(geometry)
        warm_time = time.perf_counter() - start
        rows = slice(248, 264)
        mu = ct.with_voxels(attenuation_from_hu(hu))
        start = time.perf_counter()
        reference = drr_reference(mu, geometry, step_mm=1.0, rows=rows)
        reference_time = (time.perf_counter() - start) * 512 / 16
        agreement = float(np.corrcoef(reference.ravel(), first[rows].ravel())[0, 1])
        report(
            name=f"drr_512x512_from_512x512x300_{view}_s",
            value=round(warm_time, 3),
            unit="s",
            baseline="trilinear ray marching (drr_reference, 1 mm step), 16 rows timed and scaled to 512",
            baseline_value=round(reference_time, 2),
            first_call_s=round(first_time + prepare_time, 3),
            target_s=0.5,
            correlation_with_baseline=round(agreement, 6),
            scene=scene_name,
            cpu_cores=cores,
        )

"""Rendering: anatomy meshes, the virtual endoscope, simulated fluoroscopy (DRR) and slices.

The only package that imports VTK. Public functions take and return numpy arrays and kambin's
own dataclasses; no VTK object leaves it. Rendering is offscreen (EGL, else OSMesa).
"""

from kambin.render.drr import (
    CArmGeometry,
    DrrProjector,
    attenuation_from_hu,
    drr,
    drr_reference,
    fluoro_image,
    tool_line_integrals,
)
from kambin.render.endoscope import CameraIntrinsics, EndoscopeCamera, project_points, scope_pose
from kambin.render.meshes import Mesh, mesh_from_mask, meshes_from_labels, sphere_mesh, split_mesh, tube_mesh
from kambin.render.scene import EndoscopeFrame, EndoscopeRenderer, Material
from kambin.render.slices import (
    SlicePlane,
    perpendicular_plane,
    render_slice,
    sample,
    standard_plane,
    trajectory_plane,
)

__all__ = [
    "CArmGeometry",
    "CameraIntrinsics",
    "DrrProjector",
    "EndoscopeCamera",
    "EndoscopeFrame",
    "EndoscopeRenderer",
    "Material",
    "Mesh",
    "SlicePlane",
    "attenuation_from_hu",
    "drr",
    "drr_reference",
    "fluoro_image",
    "mesh_from_mask",
    "meshes_from_labels",
    "perpendicular_plane",
    "project_points",
    "render_slice",
    "sample",
    "scope_pose",
    "sphere_mesh",
    "split_mesh",
    "standard_plane",
    "tool_line_integrals",
    "trajectory_plane",
    "tube_mesh",
]

"""Rendering: anatomy meshes, the virtual endoscope, simulated fluoroscopy (DRR) and slices.

The only package that imports VTK. Public functions take and return numpy arrays and kambin's
own dataclasses; no VTK object leaves it. Rendering is offscreen (EGL, else OSMesa).

Names are imported on first use (PEP 562), so `kambin.render.drr` works where VTK is not
installed (a GPU machine computing DRRs) and the CLI starts without loading VTK.
"""

from importlib import import_module

_WHERE = {
    "CArmGeometry": "drr",
    "DrrProjector": "drr",
    "attenuation_from_hu": "drr",
    "drr": "drr",
    "drr_reference": "drr",
    "fluoro_image": "drr",
    "tool_line_integrals": "drr",
    "EndoscopeCamera": "endoscope",
    "project_points": "endoscope",
    "scope_pose": "endoscope",
    "Mesh": "meshes",
    "mesh_from_mask": "meshes",
    "meshes_from_labels": "meshes",
    "sphere_mesh": "meshes",
    "split_mesh": "meshes",
    "tube_mesh": "meshes",
    "EndoscopeFrame": "scene",
    "EndoscopeRenderer": "scene",
    "Material": "scene",
    "SlicePlane": "slices",
    "perpendicular_plane": "slices",
    "render_slice": "slices",
    "sample": "slices",
    "standard_plane": "slices",
    "trajectory_plane": "slices",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'kambin.render' has no attribute {name!r}")
    return getattr(import_module(f"kambin.render.{_WHERE[name]}"), name)

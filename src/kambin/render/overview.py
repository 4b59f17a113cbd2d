"""A 3D overview of the anatomy and the planned cannula, seen from outside the patient.

Meshes (registry colours) rendered offscreen with a camera looking at the target from a chosen
direction, a key light at the camera, and the cannula drawn as a tube from entry to target.
Returns an RGB numpy image; VTK stays inside this package.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.vtkRenderingCore import vtkActor, vtkLight, vtkPolyDataMapper, vtkRenderer

from kambin.errors import InvalidInputError
from kambin.render._vtk import make_render_window, polydata_from_arrays, read_rgb
from kambin.render.meshes import Mesh, tube_mesh

CANNULA_RGB = (0.2, 0.85, 0.35)


def overview_image(
    meshes: Sequence[Mesh],
    entry_lps_mm: Sequence[float],
    target_lps_mm: Sequence[float],
    view_from_lps: Sequence[float],
    *,
    cannula_diameter_mm: float = 7.0,
    distance_mm: float = 320.0,
    view_angle_deg: float = 30.0,
    size: tuple[int, int] = (640, 480),
    opacity: dict[str, float] | None = None,
) -> np.ndarray:
    """(H, W, 3) uint8: the meshes and the cannula seen from `view_from_lps` (a direction from the
    target toward the camera), head up. `opacity` maps mesh names to opacities (default opaque)."""
    entry, target = np.asarray(entry_lps_mm, float), np.asarray(target_lps_mm, float)
    direction = np.asarray(view_from_lps, float)
    if np.linalg.norm(direction) < 1e-9 or np.linalg.norm(entry - target) < 1e-6:
        raise InvalidInputError("the view direction and the path must have non-zero length")
    direction /= np.linalg.norm(direction)
    renderer = vtkRenderer()
    renderer.SetBackground(1.0, 1.0, 1.0)
    opacity = opacity or {}
    cannula = tube_mesh(entry, target, cannula_diameter_mm / 2, name="cannula", color_rgb=CANNULA_RGB)
    for mesh in [*meshes, cannula]:
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(polydata_from_arrays(mesh.vertices_lps_mm, mesh.faces, mesh.normals_lps))
        mapper.ScalarVisibilityOff()
        actor = vtkActor()
        actor.SetMapper(mapper)
        prop = actor.GetProperty()
        prop.SetColor(*mesh.color_rgb)
        prop.SetOpacity(opacity.get(mesh.name, 1.0))
        prop.SetSpecular(0.2)
        prop.SetSpecularPower(20.0)
        renderer.AddActor(actor)
    camera = renderer.GetActiveCamera()
    camera.SetFocalPoint(*target)
    camera.SetPosition(*(target + direction * distance_mm))
    up = np.array([0.0, 0.0, 1.0])
    if abs(up @ direction) > 0.95:
        up = np.array([0.0, -1.0, 0.0])
    camera.SetViewUp(*up)
    camera.SetViewAngle(view_angle_deg)
    renderer.ResetCameraClippingRange()
    light = vtkLight()
    light.SetLightTypeToCameraLight()
    light.SetIntensity(1.0)
    renderer.AddLight(light)
    window = make_render_window(*size)
    window.AddRenderer(renderer)
    try:
        window.Render()
        return np.ascontiguousarray(read_rgb(window))
    finally:
        window.Finalize()

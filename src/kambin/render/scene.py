"""The virtual endoscope: anatomy meshes rendered offscreen through an `EndoscopeCamera`.

VTK renders the undistorted pinhole image (an explicit projection matrix built from the
intrinsics, so the principal point need not be centred); OpenCV's distortion is then applied
with `cv2.remap`, sampling the pinhole image at the undistorted position of every distorted
pixel, so a rendered point lands on the pixel `project_points` (and `cv2.projectPoints`) gives.
The light is a positional light at the tip with inverse-square fall-off; surfaces are wet
(strong, tight specular highlight); the circular field stop blacks out the rest.

Speed: meshes are cut into blocks (`split_mesh`) so VTK's frustum culler skips the blocks
outside the view or beyond the far plane, and back faces are culled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from vtkmodules.vtkRenderingCore import vtkActor, vtkLight, vtkPolyDataMapper, vtkProperty, vtkRenderer

from kambin.calibration.intrinsics import CameraIntrinsics
from kambin.errors import InvalidInputError
from kambin.geometry import check_rigid
from kambin.render._vtk import make_render_window, polydata_from_arrays, read_depth, read_rgb
from kambin.render.endoscope import EndoscopeCamera, undistort_pixels
from kambin.render.meshes import Mesh, split_mesh

BACKGROUND_RGB = (0.05, 0.015, 0.01)  # the dark, faintly red cavity beyond the light's reach
LIGHT_INTENSITY = 1.3  # a xenon/LED scope light over-exposes what touches the lens, as a real one does


@dataclass(frozen=True)
class Material:
    """Phong material of the rendered tissue (wet: bright, tight specular highlight)."""

    ambient: float = 0.06
    diffuse: float = 0.85
    specular: float = 0.6
    specular_power: float = 30.0


@dataclass(frozen=True)
class EndoscopeFrame:
    """One rendered endoscope image.

    Attributes:
        color_rgb: (H, W, 3) uint8, black outside the field stop.
        depth_mm: (H, W) float32 camera-frame z of the visible surface (inf where none).
        label_ids: (H, W) int32 label id of the visible mesh (0 where none), or None if not asked.
        camera_to_ct: the camera pose it was rendered from.
    """

    color_rgb: np.ndarray
    depth_mm: np.ndarray
    label_ids: np.ndarray | None
    camera_to_ct: np.ndarray


def projection_matrix(intrinsics: CameraIntrinsics, near_mm: float, far_mm: float) -> np.ndarray:
    """OpenGL projection (eye to clip) of an OpenCV pinhole: pixel (u, v) centres at integers,
    v down, principal point anywhere."""
    k = intrinsics
    w, h = k.width, k.height
    n, f = near_mm, far_mm
    return np.array(
        [
            [2.0 * k.fx / w, 0.0, -(2.0 * (k.cx + 0.5) / w - 1.0), 0.0],
            [0.0, 2.0 * k.fy / h, -(1.0 - 2.0 * (k.cy + 0.5) / h), 0.0],
            [0.0, 0.0, -(f + n) / (f - n), -2.0 * f * n / (f - n)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )


def _distortion_maps(camera: EndoscopeCamera) -> tuple[CameraIntrinsics, np.ndarray | None, np.ndarray | None]:
    """The pinhole intrinsics to render with, and the remap maps from it to the distorted image.

    The pinhole canvas is grown to cover every pinhole pixel a field-stop pixel samples.
    """
    k = camera.intrinsics
    if not k.has_distortion:
        return k, None, None
    v, u = np.mgrid[0:k.height, 0:k.width].astype(np.float64)
    inside = (u - k.cx) ** 2 + (v - k.cy) ** 2 <= (camera.field_stop_radius_px + 2.0) ** 2
    xy = undistort_pixels(np.stack([u[inside], v[inside]], axis=1), k)
    pu, pv = k.fx * xy[:, 0] + k.cx, k.fy * xy[:, 1] + k.cy
    left = max(0, int(np.ceil(-pu.min())) + 2)
    top = max(0, int(np.ceil(-pv.min())) + 2)
    width = max(k.width, int(np.ceil(pu.max())) + 3) + left
    height = max(k.height, int(np.ceil(pv.max())) + 3) + top
    if width > 4 * k.width or height > 4 * k.height:
        raise InvalidInputError(
            "the distortion coefficients fold the image (undistorted field stop is over 4x the image); "
            "check them or shrink the field stop"
        )
    render = CameraIntrinsics(width, height, k.fx, k.fy, k.cx + left, k.cy + top)
    map_u = np.full((k.height, k.width), -10.0, np.float32)
    map_v = np.full((k.height, k.width), -10.0, np.float32)
    map_u[inside] = pu + left
    map_v[inside] = pv + top
    return render, map_u, map_v


class EndoscopeRenderer:
    """Renders a fixed set of meshes through an endoscope camera, frame after frame.

    Holds an offscreen VTK window; call `close()` (or use it as a context manager) when done.
    `chunk_mm` is the block size meshes are cut into for culling (None: one actor per mesh,
    the plain render).
    """

    def __init__(
        self,
        meshes: Sequence[Mesh],
        camera: EndoscopeCamera,
        *,
        chunk_mm: float | None = 40.0,
        material: Material | None = None,
        background_rgb: Sequence[float] = BACKGROUND_RGB,
    ):
        if len(meshes) == 0:
            raise InvalidInputError("nothing to render: the list of meshes is empty")
        self.camera = camera
        self._render_intrinsics, map_u, map_v = _distortion_maps(camera)
        if map_u is not None:
            # Fixed-point maps: bilinear for colour; rounded ones for depth and labels (the
            # integer part of the bilinear maps is the floor, which would shift by half a pixel).
            self._map1, self._map2 = cv2.convertMaps(map_u, map_v, cv2.CV_16SC2)
            self._nearest_map, _ = cv2.convertMaps(map_u, map_v, cv2.CV_16SC2, nninterpolation=True)
        else:
            self._map1 = self._map2 = self._nearest_map = None
        self._field_stop = camera.field_stop_mask()
        k = camera.intrinsics
        v, u = np.mgrid[0:k.height, 0:k.width]
        r = np.sqrt((u - k.cx) ** 2 + (v - k.cy) ** 2) / camera.field_stop_radius_px
        vignette = np.clip(1.0 - 0.35 * r**4, 0.0, 1.0) * self._field_stop
        self._gain = np.repeat((vignette * 255).astype(np.uint8)[:, :, None], 3, axis=2)

        material = material or Material()
        self._renderer = vtkRenderer()
        self._renderer.SetBackground(*background_rgb)
        self._renderer.AutomaticLightCreationOff()
        self._light = vtkLight()
        self._light.SetPositional(True)
        self._light.SetConeAngle(90.0)  # no spot cone: the fibres light the whole field
        self._light.SetAttenuationValues(1.0, 0.0, 1.0 / camera.light_falloff_mm**2)
        self._light.SetIntensity(LIGHT_INTENSITY)
        self._renderer.AddLight(self._light)
        self._window = make_render_window(self._render_intrinsics.width, self._render_intrinsics.height)
        self._window.AddRenderer(self._renderer)

        self._actors: list[vtkActor] = []
        self._shaded: list[vtkProperty] = []
        self._flat: list[vtkProperty] = []
        self._label_of_index = [0]
        for index, mesh in enumerate(meshes, start=1):
            self._label_of_index.append(mesh.label_id)
            pieces = [mesh] if chunk_mm is None else split_mesh(mesh, chunk_mm)
            shaded = self._shaded_property(mesh.color_rgb, material)
            flat = self._flat_property(index)
            for piece in pieces:
                mapper = vtkPolyDataMapper()
                mapper.SetInputData(polydata_from_arrays(piece.vertices_lps_mm, piece.faces, piece.normals_lps))
                mapper.ScalarVisibilityOff()
                mapper.StaticOn()
                actor = vtkActor()
                actor.SetMapper(mapper)
                actor.SetProperty(shaded)
                self._actors.append(actor)
                self._shaded.append(shaded)
                self._flat.append(flat)
                self._renderer.AddActor(actor)
        if len(meshes) >= 2**24 - 1:
            raise InvalidInputError("too many meshes for the label pass (at most 16.7 million)")
        vtk_camera = self._renderer.GetActiveCamera()
        vtk_camera.SetExplicitProjectionTransformMatrix(_vtk_matrix(
            projection_matrix(self._render_intrinsics, camera.near_mm, camera.far_mm)))
        vtk_camera.UseExplicitProjectionTransformMatrixOn()
        vtk_camera.SetClippingRange(camera.near_mm, camera.far_mm)

    @staticmethod
    def _shaded_property(color: Sequence[float], material: Material) -> vtkProperty:
        prop = vtkProperty()
        prop.SetColor(*color)
        prop.SetAmbient(material.ambient)
        prop.SetDiffuse(material.diffuse)
        prop.SetSpecular(material.specular)
        prop.SetSpecularPower(material.specular_power)
        prop.SetSpecularColor(1.0, 1.0, 1.0)
        prop.SetInterpolationToPhong()
        prop.BackfaceCullingOn()
        return prop

    @staticmethod
    def _flat_property(index: int) -> vtkProperty:
        prop = vtkProperty()
        prop.SetColor((index & 255) / 255.0, ((index >> 8) & 255) / 255.0, ((index >> 16) & 255) / 255.0)
        prop.LightingOff()
        prop.SetAmbient(1.0)
        prop.SetDiffuse(0.0)
        prop.SetSpecular(0.0)
        prop.BackfaceCullingOn()
        return prop

    @property
    def n_actors(self) -> int:
        return len(self._actors)

    def render(self, scope_to_ct: np.ndarray, *, with_labels: bool = False) -> EndoscopeFrame:
        """Render the view from a scope pose (`scope_to_ct`, e.g. from `scope_pose`)."""
        camera_to_ct = self.camera.camera_to_ct(check_rigid(scope_to_ct, "scope_to_ct"))
        position = camera_to_ct[:3, 3]
        forward = camera_to_ct[:3, 2]
        down = camera_to_ct[:3, 1]
        vtk_camera = self._renderer.GetActiveCamera()
        vtk_camera.SetPosition(*position)
        vtk_camera.SetFocalPoint(*(position + forward * 10.0))
        vtk_camera.SetViewUp(*(-down))
        self._light.SetPosition(*position)
        self._light.SetFocalPoint(*(position + forward * 10.0))
        self._window.Render()
        color = read_rgb(self._window)
        depth_buffer = read_depth(self._window)
        labels = None
        if with_labels:
            for actor, flat in zip(self._actors, self._flat, strict=True):
                actor.SetProperty(flat)
            background = self._renderer.GetBackground()
            self._renderer.SetBackground(0.0, 0.0, 0.0)
            self._window.Render()
            codes = read_rgb(self._window).astype(np.int32)
            for actor, shaded in zip(self._actors, self._shaded, strict=True):
                actor.SetProperty(shaded)
            self._renderer.SetBackground(*background)
            labels = (codes[:, :, 0] | (codes[:, :, 1] << 8) | (codes[:, :, 2] << 16)).astype(np.float32)
        n, f = self.camera.near_mm, self.camera.far_mm
        z_ndc = 2.0 * depth_buffer.astype(np.float64) - 1.0
        with np.errstate(divide="ignore"):
            depth = (2.0 * f * n / ((f + n) - z_ndc * (f - n))).astype(np.float32)
        depth[depth_buffer >= 1.0] = np.inf
        if self._map1 is not None:
            color = cv2.remap(color, self._map1, self._map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            depth = cv2.remap(depth, self._nearest_map, None, cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=np.inf)
            if labels is not None:
                labels = cv2.remap(labels, self._nearest_map, None, cv2.INTER_NEAREST,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        else:
            color = np.ascontiguousarray(color)
            depth = np.ascontiguousarray(depth)
        color = cv2.multiply(color, self._gain, scale=1.0 / 255.0)
        depth[~self._field_stop] = np.inf
        if labels is not None:
            # Mesh indices (exact in float32 below 2**24) to label ids.
            lookup = np.asarray(self._label_of_index, dtype=np.int32)
            index = labels.astype(np.int64)
            index = np.where((index < len(lookup)) & self._field_stop, index, 0)
            labels = lookup[index]
        return EndoscopeFrame(color, depth, labels, camera_to_ct)

    def close(self) -> None:
        self._window.Finalize()

    def __enter__(self) -> EndoscopeRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _vtk_matrix(matrix: np.ndarray):
    from vtkmodules.vtkCommonMath import vtkMatrix4x4

    m = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            m.SetElement(r, c, float(matrix[r, c]))
    return m

"""Offscreen VTK set-up and the numpy <-> VTK conversions; the only place a render window is made.

Rendering runs with no display: EGL first (Mesa's llvmpipe on a CPU machine, the GPU driver
where there is one), then OSMesa (Debian's libosmesa6). The render-window class is chosen here,
at render-window creation time, by instantiating it directly; no environment variable is
written. `KAMBIN_RENDER_BACKEND=egl|osmesa` forces one of them.
"""

from __future__ import annotations

import os

import numpy as np
from vtkmodules import vtkRenderingOpenGL2  # noqa: F401 - registers the OpenGL overrides of
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkFloatArray, vtkObject, vtkPoints, vtkUnsignedCharArray
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow  # vtkRenderer, mappers, ...

from kambin.errors import UnreliableResultError

BACKENDS = ("egl", "osmesa")
_working_backend: str | None = None


def _window_class(backend: str):
    gl = vtkRenderingOpenGL2
    return gl.vtkEGLRenderWindow if backend == "egl" else gl.vtkOSOpenGLRenderWindow


def _probe(backend: str) -> bool:
    """Render one frame with `backend` and check a pixel comes back."""
    window = _window_class(backend)()
    window.SetOffScreenRendering(1)
    window.SetSize(8, 8)
    renderer = vtkRenderer()
    renderer.SetBackground(1.0, 0.0, 0.0)
    window.AddRenderer(renderer)
    try:
        window.Render()
        pixels = vtkUnsignedCharArray()
        window.GetPixelData(0, 0, 7, 7, 0, pixels, 0)
        values = vtk_to_numpy(pixels).ravel()
        return values.size == 8 * 8 * 3 and int(values[0]) == 255
    finally:
        window.Finalize()


def backend() -> str:
    """The offscreen backend in use ("egl" or "osmesa"), found once per process."""
    global _working_backend
    if _working_backend is not None:
        return _working_backend
    forced = os.environ.get("KAMBIN_RENDER_BACKEND", "").strip().lower()
    candidates = (forced,) if forced in BACKENDS else BACKENDS
    warnings = vtkObject.GetGlobalWarningDisplay()
    for name in candidates:
        vtkObject.GlobalWarningDisplayOff()  # a failing probe prints GL errors we handle here
        try:
            if _probe(name):
                _working_backend = name
                return name
        except Exception:  # noqa: BLE001, S112 - a backend that cannot start is simply skipped
            continue
        finally:
            vtkObject.SetGlobalWarningDisplay(warnings)
    raise UnreliableResultError(
        "no offscreen OpenGL found (tried EGL and OSMesa); install libegl1 or libosmesa6 "
        "(`make setup` does)"
    )


def make_render_window(width: int, height: int) -> vtkRenderWindow:
    """An offscreen render window of the given size in pixels, with the working backend."""
    window = _window_class(backend())()
    window.SetOffScreenRendering(1)
    window.SetSize(int(width), int(height))
    window.SetMultiSamples(0)
    return window


def read_rgb(window: vtkRenderWindow) -> np.ndarray:
    """The back buffer as an (H, W, 3) uint8 array, row 0 at the top."""
    width, height = window.GetSize()
    pixels = vtkUnsignedCharArray()
    window.GetPixelData(0, 0, width - 1, height - 1, 0, pixels, 0)
    return vtk_to_numpy(pixels).reshape(height, width, 3)[::-1]


def read_depth(window: vtkRenderWindow) -> np.ndarray:
    """The z-buffer as an (H, W) float32 array in [0, 1], row 0 at the top."""
    width, height = window.GetSize()
    depth = vtkFloatArray()
    window.GetZbufferData(0, 0, width - 1, height - 1, depth)
    return vtk_to_numpy(depth).reshape(height, width)[::-1]


def polydata_from_arrays(
    vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray | None = None
) -> vtkPolyData:
    """A triangle vtkPolyData from (N, 3) vertices, (M, 3) faces and optional (N, 3) normals."""
    poly = vtkPolyData()
    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices, dtype=np.float32), deep=True))
    poly.SetPoints(points)
    faces = np.asarray(faces, dtype=np.int64)
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells = vtkCellArray()
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True), numpy_to_vtkIdTypeArray(faces.ravel(), deep=True))
    poly.SetPolys(cells)
    if normals is not None:
        array = numpy_to_vtk(np.ascontiguousarray(normals, dtype=np.float32), deep=True)
        array.SetName("Normals")
        poly.GetPointData().SetNormals(array)
    return poly


def arrays_from_polydata(poly: vtkPolyData) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(vertices (N, 3) float32, faces (M, 3) int32, normals (N, 3) float32 or None) of a triangle mesh."""
    if poly.GetNumberOfPoints() == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), None
    vertices = vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float32)
    connectivity = vtk_to_numpy(poly.GetPolys().GetConnectivityArray())
    offsets = vtk_to_numpy(poly.GetPolys().GetOffsetsArray())
    if len(offsets) > 1 and not np.all(np.diff(offsets) == 3):
        raise UnreliableResultError("mesh has non-triangle cells; triangulate it first")
    faces = connectivity.reshape(-1, 3).astype(np.int32)
    normals_array = poly.GetPointData().GetNormals()
    normals = None if normals_array is None else vtk_to_numpy(normals_array).astype(np.float32)
    return vertices, faces, normals


def image_data_from_array(voxels: np.ndarray) -> vtkImageData:
    """vtkImageData in voxel-index space (origin 0, spacing 1) holding `voxels[i, j, k]`."""
    image = vtkImageData()
    image.SetDimensions(*voxels.shape)
    image.SetOrigin(0.0, 0.0, 0.0)
    image.SetSpacing(1.0, 1.0, 1.0)
    # VTK's x index varies fastest: Fortran order of [i, j, k].
    array = numpy_to_vtk(np.asarray(voxels).ravel(order="F"), deep=True)
    array.SetName("scalars")
    image.GetPointData().SetScalars(array)
    return image

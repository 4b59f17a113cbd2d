"""Surface meshes from label volumes, and the simple shapes the scenes need (spheres, tubes).

Surfaces are extracted with flying edges (Schroeder, Maynard & Geveci, "Flying edges: a
high-performance scalable isocontouring algorithm", IEEE LDAV 2015), smoothed with the
windowed-sinc filter (Taubin, Zhang & Golub, "Optimal surface smoothing as filter design",
ECCV 1996), which smooths without shrinking, and decimated with quadric error metrics (Garland &
Heckbert, "Surface simplification using quadric error metrics", SIGGRAPH 1997).
Colours come from the label registry (kambin.anatomy.labels), which follows surgical
convention: bone ivory, nerve yellow, dura blue, disc white/grey, vessels red.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from vtkmodules.vtkFiltersCore import (
    vtkFlyingEdges3D,
    vtkPolyDataNormals,
    vtkQuadricDecimation,
    vtkTriangleFilter,
    vtkWindowedSincPolyDataFilter,
)
from vtkmodules.vtkFiltersSources import vtkCylinderSource, vtkSphereSource

from kambin.anatomy.labels import LABELS, label_by_id
from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.render._vtk import arrays_from_polydata, image_data_from_array, polydata_from_arrays

UNKNOWN_COLOR = (0.6, 0.6, 0.6)
_REGISTRY_IDS = {label.id for label in LABELS}


@dataclass(frozen=True)
class Mesh:
    """A closed triangle surface in CT LPS millimetres, with the structure it shows.

    Attributes:
        name: registry name (or a free name for tools and test shapes).
        label_id: label-map id (0 for shapes that are not anatomy).
        vertices_lps_mm: (N, 3) float32 vertex positions.
        faces: (M, 3) int32 vertex indices, counter-clockwise seen from outside.
        normals_lps: (N, 3) float32 outward unit vertex normals.
        color_rgb: display colour, components in [0, 1].
    """

    name: str
    label_id: int
    vertices_lps_mm: np.ndarray
    faces: np.ndarray
    normals_lps: np.ndarray
    color_rgb: tuple[float, float, float]

    @property
    def n_triangles(self) -> int:
        return int(len(self.faces))

    def _corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self.vertices_lps_mm.astype(np.float64)
        return v[self.faces[:, 0]], v[self.faces[:, 1]], v[self.faces[:, 2]]

    def area_mm2(self) -> float:
        a, b, c = self._corners()
        return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())

    def volume_mm3(self) -> float:
        """Enclosed volume by the divergence theorem (positive for outward-facing triangles)."""
        a, b, c = self._corners()
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)

    def bounds_lps_mm(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices_lps_mm.min(axis=0), self.vertices_lps_mm.max(axis=0)


def label_color(label_id: int) -> tuple[float, float, float]:
    """Registry colour of a label id, grey for ids the registry does not know."""
    return label_by_id(label_id).color_rgb if int(label_id) in _REGISTRY_IDS else UNKNOWN_COLOR


def label_name(label_id: int) -> str:
    return label_by_id(label_id).name if int(label_id) in _REGISTRY_IDS else f"label_{int(label_id)}"


def _finish(
    vertices: np.ndarray, faces: np.ndarray, name: str, label_id: int, color: Sequence[float]
) -> Mesh:
    """Orient faces outward and compute vertex normals."""
    mesh = Mesh(name, int(label_id), vertices.astype(np.float32), faces.astype(np.int32),
                np.zeros_like(vertices, dtype=np.float32), tuple(float(c) for c in color))
    if len(faces) and mesh.volume_mm3() < 0:
        faces = faces[:, ::-1].copy()
    normals = vtkPolyDataNormals()
    normals.SetInputData(polydata_from_arrays(vertices, faces))
    normals.SplittingOff()
    normals.ConsistencyOff()
    normals.AutoOrientNormalsOff()
    normals.ComputePointNormalsOn()
    normals.ComputeCellNormalsOff()
    normals.Update()
    vertices, faces, point_normals = arrays_from_polydata(normals.GetOutput())
    if point_normals is None:
        point_normals = np.zeros_like(vertices)
    return Mesh(name, int(label_id), vertices, faces, point_normals, tuple(float(c) for c in color))


def mesh_from_mask(
    mask: np.ndarray,
    voxel_to_lps: np.ndarray,
    *,
    name: str = "mask",
    label_id: int = 0,
    color_rgb: Sequence[float] | None = None,
    smoothing_iterations: int = 20,
    pass_band: float = 0.05,
    target_reduction: float = 0.0,
) -> Mesh | None:
    """The smoothed, decimated boundary surface of a boolean mask, in LPS mm; None if empty.

    `target_reduction` is the fraction of triangles quadric decimation removes (0 keeps all);
    `smoothing_iterations=0` gives the raw flying-edges surface.
    """
    if not 0.0 <= target_reduction < 1.0:
        raise InvalidInputError(f"target_reduction must be in [0, 1), not {target_reduction}")
    if mask.ndim != 3:
        raise InvalidInputError(f"mask must be 3D, got shape {mask.shape}")
    where = np.argwhere(mask)
    if len(where) == 0:
        return None
    low = np.maximum(where.min(axis=0) - 1, 0)
    high = np.minimum(where.max(axis=0) + 2, mask.shape)
    crop = mask[low[0]:high[0], low[1]:high[1], low[2]:high[2]]
    padded = np.pad(crop.astype(np.uint8), 1)  # closed surfaces where the mask touches the crop edge
    surface = vtkFlyingEdges3D()
    surface.SetInputData(image_data_from_array(padded))
    surface.SetValue(0, 0.5)
    surface.ComputeNormalsOff()
    surface.ComputeGradientsOff()
    surface.ComputeScalarsOff()
    surface.Update()
    vertices_ijk, faces, _ = arrays_from_polydata(surface.GetOutput())
    if len(faces) == 0:
        return None
    ijk = vertices_ijk.astype(np.float64) + (low - 1)
    affine = np.asarray(voxel_to_lps, dtype=np.float64)
    vertices = ijk @ affine[:3, :3].T + affine[:3, 3]
    poly = polydata_from_arrays(vertices, faces)
    if smoothing_iterations > 0:
        smoother = vtkWindowedSincPolyDataFilter()
        smoother.SetInputData(poly)
        smoother.SetNumberOfIterations(int(smoothing_iterations))
        smoother.SetPassBand(pass_band)
        smoother.BoundarySmoothingOff()
        smoother.FeatureEdgeSmoothingOff()
        smoother.NonManifoldSmoothingOn()
        smoother.NormalizeCoordinatesOn()
        smoother.Update()
        poly = smoother.GetOutput()
    if target_reduction > 0.0:
        triangles = vtkTriangleFilter()
        triangles.SetInputData(poly)
        decimate = vtkQuadricDecimation()
        decimate.SetInputConnection(triangles.GetOutputPort())
        decimate.SetTargetReduction(float(target_reduction))
        decimate.VolumePreservationOn()
        decimate.Update()
        poly = decimate.GetOutput()
    vertices, faces, _ = arrays_from_polydata(poly)
    color = label_color(label_id) if color_rgb is None else color_rgb
    return _finish(vertices, faces, name, label_id, color)


def meshes_from_labels(
    labels: Volume,
    label_ids: Iterable[int] | None = None,
    *,
    exclude: Iterable[int] = (),
    smoothing_iterations: int = 20,
    pass_band: float = 0.05,
    target_reduction: float = 0.5,
) -> list[Mesh]:
    """One mesh per label present in a label volume (or per requested id), in LPS mm.

    Names and colours come from the label registry; ids it does not know get `label_<id>` and grey.
    """
    voxels = np.asarray(labels.voxels)
    if not np.issubdtype(voxels.dtype, np.integer):
        if not np.all(np.mod(voxels, 1) == 0):
            raise InvalidInputError("a label volume must hold integer ids; got fractional values")
        voxels = voxels.astype(np.int32)
    present = set(np.unique(voxels).tolist()) - {0}
    wanted = present if label_ids is None else {int(i) for i in label_ids}
    missing = wanted - present
    if label_ids is not None and missing:
        raise InvalidInputError(
            f"label ids {sorted(missing)} are not in the label volume (present: {sorted(present)})"
        )
    wanted -= {int(i) for i in exclude}
    meshes = []
    for label_id in sorted(wanted):
        mesh = mesh_from_mask(
            voxels == label_id,
            labels.voxel_to_lps,
            name=label_name(label_id),
            label_id=label_id,
            smoothing_iterations=smoothing_iterations,
            pass_band=pass_band,
            target_reduction=target_reduction,
        )
        if mesh is not None:
            meshes.append(mesh)
    return meshes


def sphere_mesh(
    center_lps_mm: Sequence[float],
    radius_mm: float,
    *,
    name: str = "sphere",
    color_rgb: Sequence[float] = (1.0, 1.0, 1.0),
    resolution: int = 32,
) -> Mesh:
    """A UV sphere."""
    if radius_mm <= 0:
        raise InvalidInputError(f"radius must be positive, got {radius_mm} mm")
    source = vtkSphereSource()
    source.SetCenter(*map(float, center_lps_mm))
    source.SetRadius(float(radius_mm))
    source.SetThetaResolution(int(resolution))
    source.SetPhiResolution(int(resolution))
    source.Update()
    vertices, faces, _ = arrays_from_polydata(source.GetOutput())
    return _finish(vertices, faces, name, 0, color_rgb)


def tube_mesh(
    start_lps_mm: Sequence[float],
    end_lps_mm: Sequence[float],
    radius_mm: float,
    *,
    name: str = "cannula",
    color_rgb: Sequence[float] = (0.75, 0.77, 0.80),
    resolution: int = 32,
) -> Mesh:
    """A capped cylinder from start to end (a needle or a working cannula)."""
    start = np.asarray(start_lps_mm, dtype=np.float64)
    axis = np.asarray(end_lps_mm, dtype=np.float64) - start
    length = float(np.linalg.norm(axis))
    if length <= 0 or radius_mm <= 0:
        raise InvalidInputError(f"a tube needs a positive length and radius, got {length} and {radius_mm} mm")
    source = vtkCylinderSource()  # along +y, centred on the origin
    source.SetRadius(float(radius_mm))
    source.SetHeight(length)
    source.SetResolution(int(resolution))
    source.CappingOn()
    triangles = vtkTriangleFilter()
    triangles.SetInputConnection(source.GetOutputPort())
    triangles.Update()
    vertices, faces, _ = arrays_from_polydata(triangles.GetOutput())
    y = axis / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    rotation = np.stack([x, y, z], axis=1)
    vertices = vertices.astype(np.float64) @ rotation.T + (start + axis / 2)
    return _finish(vertices, faces, name, 0, color_rgb)


def split_mesh(mesh: Mesh, cell_mm: float) -> list[Mesh]:
    """Cut a mesh into pieces by a grid of `cell_mm` cubes (by triangle centroid).

    Each piece is a separate actor in a scene, so the renderer's frustum culling skips the
    pieces out of view; the pieces share the original vertices and normals, so shading is
    seamless.
    """
    if cell_mm <= 0:
        raise InvalidInputError(f"cell size must be positive, got {cell_mm} mm")
    if mesh.n_triangles == 0:
        return []
    centroids = mesh.vertices_lps_mm[mesh.faces].mean(axis=1)
    cells = np.floor(centroids / cell_mm).astype(np.int64)
    _, group = np.unique(cells, axis=0, return_inverse=True)
    group = group.ravel()
    pieces = []
    for g in range(int(group.max()) + 1):
        faces = mesh.faces[group == g]
        used, local = np.unique(faces, return_inverse=True)
        pieces.append(
            Mesh(mesh.name, mesh.label_id, mesh.vertices_lps_mm[used], local.reshape(-1, 3).astype(np.int32),
                 mesh.normals_lps[used], mesh.color_rgb)
        )
    return pieces

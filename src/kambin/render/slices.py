"""Slices of a volume: axial, sagittal, coronal, and oblique along a trajectory, with overlays.

A `SlicePlane` is a grid of pixels in LPS mm: pixel (column, row) sits at
`origin + column * pixel_mm * u + row * pixel_mm * v`. Standard planes use the radiological
display: axial seen from the feet (patient's left on the viewer's right, anterior up), coronal
seen from the front (left on the right, head up), sagittal seen from the patient's left
(anterior on the left, head up). Sampling is trilinear for images and nearest for labels
(scipy.ndimage.map_coordinates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from kambin.errors import InvalidInputError
from kambin.imaging import Volume
from kambin.render.meshes import label_color

ORIENTATIONS = ("axial", "sagittal", "coronal")
WINDOWS = {"bone": (1800.0, 400.0), "soft": (400.0, 40.0), "spine": (1200.0, 250.0)}  # (width, level) HU
# (u, v) display axes in LPS.
_AXES = {
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}
PATH_RGB = (0, 230, 80)
POINT_RGB = (255, 60, 200)


@dataclass(frozen=True)
class SlicePlane:
    """A rectangular grid of pixels in LPS mm."""

    origin_lps_mm: np.ndarray
    u_lps: np.ndarray
    v_lps: np.ndarray
    pixel_mm: float
    shape: tuple[int, int]  # (rows, columns)

    def __post_init__(self) -> None:
        u, v = np.asarray(self.u_lps, float), np.asarray(self.v_lps, float)
        if abs(np.linalg.norm(u) - 1) > 1e-6 or abs(np.linalg.norm(v) - 1) > 1e-6 or abs(u @ v) > 1e-6:
            raise InvalidInputError("slice axes u and v must be orthonormal")
        if self.pixel_mm <= 0 or min(self.shape) < 1 or max(self.shape) > 8192:
            raise InvalidInputError(
                f"slice needs a positive pixel size and 1..8192 pixels, got {self.pixel_mm}, {self.shape}"
            )

    @property
    def normal_lps(self) -> np.ndarray:
        return np.cross(self.u_lps, self.v_lps)

    @property
    def pixel_to_lps(self) -> np.ndarray:
        """4x4 mapping (column, row, 0, 1) to LPS mm (the third axis is the normal, in mm)."""
        m = np.eye(4)
        m[:3, 0] = np.asarray(self.u_lps) * self.pixel_mm
        m[:3, 1] = np.asarray(self.v_lps) * self.pixel_mm
        m[:3, 2] = self.normal_lps
        m[:3, 3] = self.origin_lps_mm
        return m

    def points_lps(self) -> np.ndarray:
        rows, columns = self.shape
        r, c = np.mgrid[0:rows, 0:columns].astype(np.float64)
        return (np.asarray(self.origin_lps_mm)[None, None, :] + (c * self.pixel_mm)[..., None] * self.u_lps
                + (r * self.pixel_mm)[..., None] * self.v_lps)

    def to_pixels(self, points_lps_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 2) (column, row) of points projected onto the plane, and (N,) signed distance (mm)."""
        rel = np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 3) - self.origin_lps_mm
        uv = np.stack([rel @ self.u_lps, rel @ self.v_lps], axis=1) / self.pixel_mm
        return uv, rel @ self.normal_lps


def _plane_through(
    center: np.ndarray, u: np.ndarray, v: np.ndarray, size_mm: tuple[float, float], pixel_mm: float
) -> SlicePlane:
    columns = max(1, int(round(size_mm[0] / pixel_mm)))
    rows = max(1, int(round(size_mm[1] / pixel_mm)))
    origin = center - u * pixel_mm * (columns - 1) / 2.0 - v * pixel_mm * (rows - 1) / 2.0
    return SlicePlane(origin, u, v, float(pixel_mm), (rows, columns))


def standard_plane(
    volume: Volume, orientation: str, position_lps_mm: Sequence[float] | None = None, pixel_mm: float | None = None
) -> SlicePlane:
    """An axial, sagittal or coronal plane through a point (default: the volume's centre),
    covering the volume's extent."""
    if orientation not in ORIENTATIONS:
        raise InvalidInputError(f"orientation must be one of {ORIENTATIONS}, not {orientation!r}")
    low, high = volume.extent_lps_mm()
    center = (low + high) / 2.0 if position_lps_mm is None else np.asarray(position_lps_mm, dtype=np.float64)
    if center.shape != (3,):
        raise InvalidInputError(f"position must be 3 numbers (LPS mm), got {position_lps_mm}")
    u, v = (np.asarray(a) for a in _AXES[orientation])
    pixel = float(volume.spacing_mm.min()) if pixel_mm is None else float(pixel_mm)
    extent = high - low + pixel  # pixel centres from the first voxel centre to the last
    box_center = (low + high) / 2.0
    # Centre the picture on the volume in-plane, keep the requested position across it.
    normal = np.cross(u, v)
    center = box_center + ((center - box_center) @ normal) * normal
    return _plane_through(center, u, v, (float(np.abs(extent @ u)), float(np.abs(extent @ v))), pixel)


def trajectory_plane(
    entry_lps_mm: Sequence[float],
    target_lps_mm: Sequence[float],
    *,
    across_lps: Sequence[float] = (0.0, 0.0, 1.0),
    margin_mm: float = 25.0,
    width_mm: float = 80.0,
    pixel_mm: float = 0.5,
) -> SlicePlane:
    """An oblique plane containing the path: columns run from entry to target, rows along the
    part of `across_lps` (default superior) perpendicular to the path, head up."""
    entry = np.asarray(entry_lps_mm, dtype=np.float64)
    target = np.asarray(target_lps_mm, dtype=np.float64)
    u = target - entry
    length = float(np.linalg.norm(u))
    if length < 1e-6:
        raise InvalidInputError("entry and target coincide; a trajectory needs two different points")
    u /= length
    across = np.asarray(across_lps, dtype=np.float64)
    across = across - (across @ u) * u
    if np.linalg.norm(across) < 1e-6:
        across = np.array([0.0, 1.0, 0.0]) - u[1] * u
    v = -across / np.linalg.norm(across)
    center = (entry + target) / 2.0
    return _plane_through(center, u, v, (length + 2 * margin_mm, width_mm), pixel_mm)


def perpendicular_plane(
    entry_lps_mm: Sequence[float],
    target_lps_mm: Sequence[float],
    depth_mm: float,
    *,
    size_mm: float = 50.0,
    pixel_mm: float = 0.25,
    up_lps: Sequence[float] = (0.0, 0.0, 1.0),
) -> SlicePlane:
    """The plane across the path at `depth_mm` from the entry, seen from the entry (head up)."""
    entry = np.asarray(entry_lps_mm, dtype=np.float64)
    direction = np.asarray(target_lps_mm, dtype=np.float64) - entry
    length = float(np.linalg.norm(direction))
    if length < 1e-6:
        raise InvalidInputError("entry and target coincide; a trajectory needs two different points")
    direction /= length
    up = np.asarray(up_lps, dtype=np.float64)
    up = up - (up @ direction) * direction
    if np.linalg.norm(up) < 1e-6:
        up = np.array([0.0, -1.0, 0.0]) - (-direction[1]) * direction
    v = -up / np.linalg.norm(up)
    u = np.cross(v, direction)
    return _plane_through(entry + depth_mm * direction, u, v, (size_mm, size_mm), pixel_mm)


def sample(volume: Volume, plane: SlicePlane, *, order: int = 1, cval: float | None = None) -> np.ndarray:
    """(rows, columns) values of the volume on the plane; `order` 1 trilinear, 0 nearest.

    Outside the volume: `cval` (default -1000 for CT, 0 otherwise).
    """
    if order not in (0, 1):
        raise InvalidInputError(f"order must be 0 (nearest) or 1 (trilinear), not {order}")
    ijk = volume.lps_to_ijk(plane.points_lps().reshape(-1, 3))
    # Points on the outermost voxel centres, up to rounding, count as inside.
    clipped = np.clip(ijk, 0, np.asarray(volume.shape_ijk) - 1)
    ijk = np.where(np.abs(ijk - clipped) < 1e-6, clipped, ijk)
    fill = cval if cval is not None else (-1000.0 if volume.modality == "CT" else 0.0)
    voxels = volume.voxels if order == 0 else np.asarray(volume.voxels, dtype=np.float32)
    values = ndimage.map_coordinates(voxels, ijk.T, order=order, mode="constant", cval=fill)
    return values.reshape(plane.shape)


def window_image(hu: np.ndarray, window: str | tuple[float, float] = "spine") -> np.ndarray:
    """uint8 grey image of HU with a named or (width, level) window."""
    if isinstance(window, str):
        if window not in WINDOWS:
            raise InvalidInputError(f"window must be one of {tuple(WINDOWS)} or (width, level), not {window!r}")
        window = WINDOWS[window]
    width, level = float(window[0]), float(window[1])
    if width <= 0:
        raise InvalidInputError(f"window width must be positive, got {width}")
    return (np.clip((np.asarray(hu, np.float32) - (level - width / 2)) / width, 0.0, 1.0) * 255).astype(np.uint8)


def render_slice(
    ct: Volume,
    plane: SlicePlane,
    *,
    labels: Volume | None = None,
    window: str | tuple[float, float] = "spine",
    label_alpha: float = 0.4,
    path_lps_mm: tuple[Sequence[float], Sequence[float]] | None = None,
    points_lps_mm: np.ndarray | None = None,
    point_radius_px: int = 4,
) -> np.ndarray:
    """(rows, columns, 3) uint8 RGB slice with overlays: label colours (registry), the planned path
    (solid where it lies within 2 pixels of the plane, dashed where it is projected from out of
    plane), and points (circles)."""
    grey = window_image(sample(ct, plane), window)
    image = np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    if labels is not None:
        ids = sample(labels, plane, order=0, cval=0).astype(np.int64)
        present = [i for i in np.unique(ids) if i != 0]
        if present:
            lut = np.zeros((int(max(present)) + 1, 3), np.float32)
            for i in present:
                lut[i] = np.asarray(label_color(int(i))) * 255.0
            mask = ids > 0
            image[mask] = (1 - label_alpha) * image[mask] + label_alpha * lut[ids[mask]]
    image = np.ascontiguousarray(image.clip(0, 255).astype(np.uint8))
    if path_lps_mm is not None:
        ends, distance = plane.to_pixels(np.asarray(path_lps_mm, dtype=np.float64).reshape(2, 3))
        a, b = (tuple(int(round(x)) for x in p) for p in ends)
        if np.abs(distance).max() <= 2 * plane.pixel_mm:
            cv2.line(image, a, b, PATH_RGB, 2, cv2.LINE_AA)
        else:
            n = max(2, int(np.hypot(b[0] - a[0], b[1] - a[1]) // 6))
            steps = np.linspace(0, 1, n + 1)
            for t0, t1 in zip(steps[:-1:2], steps[1::2], strict=False):
                p0 = tuple(int(round(x)) for x in ends[0] + t0 * (ends[1] - ends[0]))
                p1 = tuple(int(round(x)) for x in ends[0] + t1 * (ends[1] - ends[0]))
                cv2.line(image, p0, p1, PATH_RGB, 1, cv2.LINE_AA)
        cv2.circle(image, b, point_radius_px, PATH_RGB, -1, cv2.LINE_AA)
    if points_lps_mm is not None:
        pixels, _ = plane.to_pixels(np.asarray(points_lps_mm, dtype=np.float64))
        for p in pixels:
            cv2.circle(image, tuple(int(round(x)) for x in p), point_radius_px, POINT_RGB, 2, cv2.LINE_AA)
    return image

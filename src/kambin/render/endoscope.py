"""The endoscope camera model: intrinsics with lens distortion, angled optics, pose, projection.

Frames (DESIGN.md): `scope` has the tip at its origin and +z forward along the shaft, +y toward
the bottom of the image at zero roll; `camera` is OpenCV's (+z viewing, +x right, +y down, origin
at the tip). An angled scope (0, 15, 25 or 30 degree optics are the usual ones) views along a
direction tilted by the optics angle from the shaft toward the top of the image, so the shaft
axis projects below the image centre (at v = cy + fy tan(angle)).

Lens distortion is OpenCV's model (Brown-Conrady: radial k1, k2, k3 and tangential p1, p2;
Brown, "Decentering distortion of lenses", Photogrammetric Engineering 1966), so a real scope
calibrated with `cv2.calibrateCamera` plugs in unchanged, and `project_points` gives the same
pixels as `cv2.projectPoints`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kambin.calibration.intrinsics import CameraIntrinsics
from kambin.errors import InvalidInputError
from kambin.geometry import from_rotation_translation, invert

COMMON_OPTICS_DEG = (0.0, 15.0, 25.0, 30.0)
# Mild barrel distortion, typical of a rod-lens endoscope (normalised image coordinates).
DEFAULT_DISTORTION = (-0.18, 0.04, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class EndoscopeCamera:
    """An endoscope: intrinsics, optics angle, field stop and tip light.

    Attributes:
        intrinsics: pinhole + distortion of the video image.
        optics_angle_deg: angle between the shaft and the viewing direction.
        field_stop_radius_px: radius of the circular image the scope's field stop leaves
            (centred on the principal point); pixels outside it are black.
        light_falloff_mm: distance at which the tip light has fallen to half its near intensity
            (inverse-square fall-off, 1 / (1 + (d / d0)^2)).
        near_mm, far_mm: clipping distances along the viewing direction.
    """

    intrinsics: CameraIntrinsics
    optics_angle_deg: float = 30.0
    field_stop_radius_px: float = field(default=0.0)
    light_falloff_mm: float = 14.0
    near_mm: float = 0.5
    far_mm: float = 50.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.optics_angle_deg < 90.0:
            raise InvalidInputError(
                f"optics angle must be in [0, 90) degrees (usual: {COMMON_OPTICS_DEG}), not {self.optics_angle_deg}"
            )
        if not 0.0 < self.near_mm < self.far_mm:
            raise InvalidInputError(f"need 0 < near < far, got near={self.near_mm}, far={self.far_mm} mm")
        if self.light_falloff_mm <= 0:
            raise InvalidInputError(f"light fall-off distance must be positive, got {self.light_falloff_mm} mm")
        if self.field_stop_radius_px <= 0:
            radius = 0.5 * min(self.intrinsics.width, self.intrinsics.height) - 1.0
            object.__setattr__(self, "field_stop_radius_px", float(radius))

    @classmethod
    def create(
        cls,
        width: int = 640,
        height: int = 480,
        optics_angle_deg: float = 30.0,
        fov_deg: float = 85.0,
        distortion: Sequence[float] = DEFAULT_DISTORTION,
        **kwargs,
    ) -> EndoscopeCamera:
        """A typical spinal endoscope at the given image size."""
        return cls(CameraIntrinsics.from_fov(width, height, fov_deg, distortion), optics_angle_deg, **kwargs)

    @property
    def camera_to_scope(self) -> np.ndarray:
        """Rotation about the scope's x axis by the optics angle: the view tilts toward -y."""
        a = np.radians(self.optics_angle_deg)
        rotation = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
        return from_rotation_translation(rotation, np.zeros(3))

    def camera_to_ct(self, scope_to_ct: np.ndarray) -> np.ndarray:
        return np.asarray(scope_to_ct, dtype=np.float64) @ self.camera_to_scope

    def field_stop_mask(self) -> np.ndarray:
        """(H, W) bool: True inside the circular field stop."""
        k = self.intrinsics
        v, u = np.mgrid[0:k.height, 0:k.width]
        return (u - k.cx) ** 2 + (v - k.cy) ** 2 <= self.field_stop_radius_px**2


def scope_pose(
    tip_lps_mm: Sequence[float],
    direction_lps: Sequence[float],
    *,
    roll_deg: float = 0.0,
    up_lps: Sequence[float] = (0.0, 0.0, 1.0),
) -> np.ndarray:
    """`scope_to_ct` for a tip position and shaft direction (pointing into the patient).

    At zero roll the top of the image (-y of the scope) points as nearly as possible along
    `up_lps` (default superior, +S); if the shaft is parallel to it, posterior (+P) is used.
    `roll_deg` turns the scope about its shaft (clockwise in the image for positive values),
    which for angled optics sweeps the viewing direction around the shaft.
    """
    tip = np.asarray(tip_lps_mm, dtype=np.float64)
    z = np.asarray(direction_lps, dtype=np.float64)
    if tip.shape != (3,) or z.shape != (3,) or not np.all(np.isfinite(tip)) or not np.all(np.isfinite(z)):
        raise InvalidInputError(f"tip and direction must be 3 finite numbers each, got {tip} and {z}")
    norm = float(np.linalg.norm(z))
    if norm < 1e-9:
        raise InvalidInputError("scope direction must be non-zero")
    z = z / norm
    up = np.asarray(up_lps, dtype=np.float64)
    up_perp = up - (up @ z) * z
    if np.linalg.norm(up_perp) < 1e-6:
        up = np.array([0.0, 1.0, 0.0])
        up_perp = up - (up @ z) * z
    y = -up_perp / np.linalg.norm(up_perp)
    x = np.cross(y, z)
    rotation = np.stack([x, y, z], axis=1)
    roll = np.radians(roll_deg)
    c, s = np.cos(roll), np.sin(roll)
    roll_about_z = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return from_rotation_translation(rotation @ roll_about_z, tip)


def distort_normalized(xy: np.ndarray, distortion: Sequence[float]) -> np.ndarray:
    """Apply OpenCV's distortion to normalised image coordinates (x/z, y/z); shape (N, 2)."""
    k1, k2, p1, p2, k3 = distortion
    x, y = xy[:, 0], xy[:, 1]
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.stack([xd, yd], axis=1)


def project_points(
    points_lps_mm: np.ndarray, camera_to_ct: np.ndarray, intrinsics: CameraIntrinsics
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (N, 2) of CT points in the distorted image, and (N,) True where in front of the lens.

    Same model and numbers as `cv2.projectPoints(points, rvec, tvec, K, dist)` with
    (rvec, tvec) of `ct_to_camera`.
    """
    points = np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 3)
    ct_to_camera = invert(np.asarray(camera_to_ct, dtype=np.float64))
    p = points @ ct_to_camera[:3, :3].T + ct_to_camera[:3, 3]
    in_front = p[:, 2] > 1e-9
    z = np.where(in_front, p[:, 2], 1.0)
    xy = distort_normalized(p[:, :2] / z[:, None], intrinsics.distortion)
    uv = np.stack([intrinsics.fx * xy[:, 0] + intrinsics.cx, intrinsics.fy * xy[:, 1] + intrinsics.cy], axis=1)
    return uv, in_front


def undistort_pixels(uv: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Normalised pinhole coordinates (x/z, y/z) of distorted pixels; shape (N, 2).

    Inverts the distortion by the fixed-point iteration OpenCV's `undistortPoints` uses
    (x = (x_d - tangential(x)) / radial(x)), run here until the re-distorted points agree with the
    input to 1e-12 (at most 200 iterations); raises if it does not converge (coefficients that
    fold the image).
    """
    k = intrinsics
    points = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    distorted = np.stack([(points[:, 0] - k.cx) / k.fx, (points[:, 1] - k.cy) / k.fy], axis=1)
    if not k.has_distortion:
        return distorted
    k1, k2, p1, p2, k3 = k.distortion
    xy = distorted.copy()
    for _ in range(200):
        x, y = xy[:, 0], xy[:, 1]
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        xy = np.stack([(distorted[:, 0] - dx) / radial, (distorted[:, 1] - dy) / radial], axis=1)
        if np.abs(distort_normalized(xy, k.distortion) - distorted).max() < 1e-12:
            return xy
    residual = float(np.abs(distort_normalized(xy, k.distortion) - distorted).max())
    if residual > 1e-6:
        raise InvalidInputError(
            f"the distortion coefficients {k.distortion} cannot be inverted over this image "
            f"(residual {residual:.2g}); check the calibration or use a smaller field stop"
        )
    return xy

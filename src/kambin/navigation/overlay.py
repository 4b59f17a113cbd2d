"""The overlay: the target, the planned path, the nerve root and the dural sac drawn on the endoscope
image through the calibrated camera model, plus the guidance state in words.

Projection is OpenCV's pinhole with Brown-Conrady distortion (`cv2.projectPoints`; Brown,
"Decentering distortion of lenses", Photogrammetric Engineering 1966; the same model as
`kambin.render.endoscope.project_points` and `cv2.calibrateCamera`, Zhang, IEEE TPAMI 2000,
doi:10.1109/34.888718). What can be is computed once: the structures' surface points (from the
planner's clearance fields), the path samples, the camera matrix. Per frame: one rigid transform
of all points, one `projectPoints` call on those in front of the lens, and outlines traced on a
quarter-resolution mask, so a 1280x720 frame costs a few milliseconds on a CPU.

A frame without a trustworthy pose (`scope_to_ct=None`) gets no anatomy drawn, only the state
("TRACKING LOST", "NO REGISTRATION", ...) in a red banner: a lost pose is never drawn as live.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from kambin.calibration.intrinsics import CameraIntrinsics
from kambin.errors import InvalidInputError
from kambin.geometry.transforms import invert
from kambin.navigation.guidance import Guidance
from kambin.planning.fields import ClearanceField

# RGB colours.
COLOURS = {
    "exiting_root": (255, 220, 0),
    "traversing_root": (255, 160, 0),
    "dural_sac": (80, 170, 255),
    "path": (60, 230, 90),
    "target": (255, 60, 255),
    "warn": (255, 150, 0),
    "stop": (230, 20, 20),
    "lost": (200, 0, 0),
}
BANNERS = {
    "tracking_lost": "TRACKING LOST",
    "no_registration": "NO REGISTRATION",
    "poor_registration": "POOR REGISTRATION",
}
SHOWN_STRUCTURES = ("exiting_root", "traversing_root", "dural_sac")
MASK_SCALE = 8


def structure_points(field: ClearanceField, max_points: int = 2000, seed: int = 0) -> np.ndarray:
    """(N, 3) LPS points on a structure's surface: voxel centres of the field's finest grid that lie
    inside the structure within one voxel of its boundary, subsampled to at most `max_points`."""
    level = field.levels[0]
    spacing = np.linalg.norm(level.voxel_to_lps[:3, :3], axis=0)
    # Inside, the field reads a voxel diagonal deeper than ITK's distance (planning.fields), so the
    # boundary layer is the band down to one diagonal plus one voxel.
    depth = float(np.linalg.norm(spacing) + spacing.max())
    ijk = np.argwhere((level.distance_mm < 0.0) & (level.distance_mm > -depth))
    if len(ijk) > max_points:
        ijk = ijk[np.random.default_rng(seed).choice(len(ijk), max_points, replace=False)]
    return ijk @ level.voxel_to_lps[:3, :3].T + level.voxel_to_lps[:3, 3]


class Overlay:
    """Draws one plan and its structures on frames of one camera.

    Args:
        intrinsics: the video's calibrated intrinsics (size must match the frames drawn on).
        camera_to_scope: the optics' pose in the scope frame (hand-eye / angled optics).
        entry_lps_mm, target_lps_mm: the plan.
        structures: name -> (N, 3) LPS points on the structure (e.g. `structure_points`).
        far_mm: structures farther than this from the lens are not drawn.
        field_stop_radius_px: radius of the circular image (default: as `EndoscopeCamera`'s); only
            what falls inside it is drawn.
    """

    def __init__(self, intrinsics: CameraIntrinsics, camera_to_scope: np.ndarray, entry_lps_mm: Sequence[float],
                 target_lps_mm: Sequence[float], structures: dict[str, np.ndarray], far_mm: float = 60.0,
                 path_samples: int = 40, field_stop_radius_px: float | None = None):
        self.intrinsics = intrinsics
        self.camera_to_scope = np.asarray(camera_to_scope, dtype=np.float64)
        self.entry = np.asarray(entry_lps_mm, dtype=np.float64)
        self.target = np.asarray(target_lps_mm, dtype=np.float64)
        self.far_mm = far_mm
        self._k = intrinsics.matrix
        self._dist = intrinsics.dist_coeffs
        self._names = [name for name in structures if len(structures[name])]
        self._colours_bgr = {}
        path = self.entry + np.linspace(0.0, 1.0, path_samples)[:, None] * (self.target - self.entry)
        blocks = [self.target[None, :], path] + [np.asarray(structures[n], dtype=np.float64) for n in self._names]
        self._points = np.concatenate(blocks)
        sizes = [len(b) for b in blocks]
        self._slices = np.split(np.arange(len(self._points)), np.cumsum(sizes)[:-1])
        # Visible cone: normalised coordinates beyond this would fold under the distortion model.
        half = max(intrinsics.width / intrinsics.fx, intrinsics.height / intrinsics.fy) * 0.6
        self._max_tan = half
        h, w = intrinsics.height, intrinsics.width
        self._mask_shape = ((h + MASK_SCALE - 1) // MASK_SCALE, (w + MASK_SCALE - 1) // MASK_SCALE)
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self._radius_px = (0.5 * min(w, h) - 1.0) if field_stop_radius_px is None else float(field_stop_radius_px)

    def _project(self, camera_points: np.ndarray) -> np.ndarray:
        uv, _ = cv2.projectPoints(camera_points.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self._k, self._dist)
        return uv.reshape(-1, 2)

    def draw(self, image_rgb: np.ndarray, scope_to_ct: np.ndarray | None, guidance: Guidance) -> np.ndarray:
        """A copy of the image with the plan and structures drawn (none when `scope_to_ct` is None)."""
        k = self.intrinsics
        if image_rgb.shape[:2] != (k.height, k.width):
            raise InvalidInputError(
                f"frame is {image_rgb.shape[1]}x{image_rgb.shape[0]}, the camera model {k.width}x{k.height}"
            )
        out = image_rgb.copy()
        if scope_to_ct is None:
            self._banner(out, BANNERS.get(guidance.state, guidance.state.upper()), COLOURS["lost"])
            return out
        ct_to_camera = invert(np.asarray(scope_to_ct, dtype=np.float64) @ self.camera_to_scope)
        camera_points = self._points @ ct_to_camera[:3, :3].T + ct_to_camera[:3, 3]
        z = camera_points[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            tan = np.abs(camera_points[:, :2]) / z[:, None]
        visible = (z > 0.5) & np.all(tan < self._max_tan, axis=1)
        uv = np.full((len(camera_points), 2), np.nan)
        if visible.any():
            uv[visible] = self._project(camera_points[visible])
        inside = visible & ((uv[:, 0] - k.cx) ** 2 + (uv[:, 1] - k.cy) ** 2 <= self._radius_px**2)
        # Structures: outlines of their projected surface points (quarter-resolution mask).
        for name, index in zip(self._names, self._slices[2:], strict=True):
            if name not in SHOWN_STRUCTURES:
                continue
            keep = index[inside[index] & (z[index] < self.far_mm)]
            if len(keep) < 3:
                continue
            mask = np.zeros(self._mask_shape, np.uint8)
            cells = (uv[keep] / MASK_SCALE).astype(np.int32)
            mask[cells[:, 1], cells[:, 0]] = 255
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._kernel)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            contours = [c * MASK_SCALE + MASK_SCALE // 2 for c in contours]
            cv2.polylines(out, contours, True, COLOURS.get(name, (255, 255, 255)), 2, cv2.LINE_AA)
            cv2.putText(out, name.replace("_", " "), tuple(int(v) for v in uv[keep].mean(axis=0)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, COLOURS.get(name, (255, 255, 255)), 1, cv2.LINE_AA)
        # The planned path: the visible run of its samples.
        path = self._slices[1]
        shown = path[visible[path]]
        if len(shown) >= 2:
            cv2.polylines(out, [np.round(uv[shown]).astype(np.int32).reshape(-1, 1, 2)], False, COLOURS["path"], 2,
                          cv2.LINE_AA)
        # The target: a ring and cross when in view, else an arrow at the edge pointing to it.
        if inside[0]:
            centre = tuple(int(v) for v in np.round(uv[0]))
            cv2.circle(out, centre, 12, COLOURS["target"], 2, cv2.LINE_AA)
            cv2.drawMarker(out, centre, COLOURS["target"], cv2.MARKER_CROSS, 18, 2)
        else:
            direction = camera_points[0, :2]
            norm = float(np.linalg.norm(direction))
            if norm > 1e-9:
                centre = np.array([k.cx, k.cy])
                tip = centre + direction / norm * 0.4 * min(k.width, k.height)
                start = centre + direction / norm * 0.28 * min(k.width, k.height)
                cv2.arrowedLine(out, tuple(int(v) for v in start), tuple(int(v) for v in tip), COLOURS["target"], 3,
                                cv2.LINE_AA, tipLength=0.3)
        self._status(out, guidance)
        return out

    def _status(self, out: np.ndarray, guidance: Guidance) -> None:
        lines = []
        if guidance.distance_to_target_mm is not None:
            lines.append(f"target {guidance.distance_to_target_mm:5.1f} mm  "
                         f"depth {guidance.depth_along_plan_mm:5.1f} mm  angle {guidance.angle_off_plan_deg:4.1f} deg")
        for n, line in enumerate(lines):
            cv2.putText(out, line, (10, out.shape[0] - 12 - 22 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2,
                        cv2.LINE_AA)
        if guidance.state in ("warn", "stop") and guidance.alarms:
            self._banner(out, guidance.alarms[0].upper(), COLOURS[guidance.state])

    @staticmethod
    def _banner(out: np.ndarray, text: str, colour: tuple[int, int, int]) -> None:
        height = max(28, out.shape[0] // 14)
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, height), colour, -1)
        scale = height / 36.0
        cv2.putText(out, text, (12, int(height * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, int(2 * scale)), cv2.LINE_AA)

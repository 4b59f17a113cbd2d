"""The monitor's pictures besides the video: a 3D view of the anatomy with the tool, and three CT
slices through the tip. Both are drawn on the server as numpy images.

3D: the anatomy and the planned cannula are rendered once (`kambin.render.overview.overview_image`,
a perspective camera at a known pose); per update only the tool is drawn on a copy, projected with
the same pinhole (`cv2.projectPoints`, no distortion), so the view costs a copy and a line.
Slices: axial, sagittal and coronal planes through the tip (`kambin.render.slices.sample`,
trilinear), with the tip, the shaft and the planned path drawn in. With no trustworthy pose the
tool is not drawn anywhere and the slices go through the target, captioned so.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from kambin.render.slices import SlicePlane, sample, window_image

TOOL_RGB = (255, 0, 255)  # magenta: nothing else in the views has this colour
PATH_RGB = (0, 200, 80)
TARGET_RGB = (255, 200, 0)
SHAFT_MM = 80.0
# The 3D view shows what guides the surgeon; muscle, vessels and organs would hide it.
ANATOMY_CATEGORIES = ("bone", "disc", "neural", "pathology")
# (u, v) display axes in LPS: radiological convention (patient's left on the image's right for
# axial and coronal; anterior to the left on sagittal), head up.
SLICE_AXES = {
    "axial": ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    "sagittal": ((0.0, -1.0, 0.0), (0.0, 0.0, -1.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
}


class AnatomyView:
    """The 3D view: meshes and planned cannula rendered once from `view_from_lps`, tool drawn per update."""

    def __init__(self, meshes: Sequence, entry_lps_mm, target_lps_mm, view_from_lps=(1.0, 0.9, 0.35),
                 size: tuple[int, int] = (480, 360), distance_mm: float = 300.0, view_angle_deg: float = 30.0):
        from kambin.anatomy.labels import label_by_id
        from kambin.render.overview import overview_image

        meshes = [m for m in meshes if label_by_id(m.label_id).category in ANATOMY_CATEGORIES]
        self.entry = np.asarray(entry_lps_mm, dtype=np.float64)
        self.target = np.asarray(target_lps_mm, dtype=np.float64)
        direction = np.asarray(view_from_lps, dtype=np.float64)
        direction /= np.linalg.norm(direction)
        self.background = overview_image(meshes, self.entry, self.target, direction, size=size,
                                         distance_mm=distance_mm, view_angle_deg=view_angle_deg,
                                         opacity={"dural_sac": 0.6})
        # The same camera as overview_image: at target + distance * direction, looking at the
        # target, head (+S) up; VTK's view angle is the vertical field of view.
        width, height = size
        z = -direction
        up = np.array([0.0, 0.0, 1.0]) if abs(direction[2]) <= 0.95 else np.array([0.0, -1.0, 0.0])
        y = -(up - (up @ z) * z)
        y /= np.linalg.norm(y)
        x = np.cross(y, z)
        rotation = np.stack([x, y, z])  # rows: camera axes in LPS (ct_to_camera rotation)
        position = self.target + distance_mm * direction
        self._rvec, _ = cv2.Rodrigues(rotation)
        self._tvec = -rotation @ position
        focal = (height / 2.0) / np.tan(np.radians(view_angle_deg) / 2.0)
        self._k = np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0], [0.0, 0.0, 1.0]])

    def project(self, points_lps_mm: np.ndarray) -> np.ndarray:
        uv, _ = cv2.projectPoints(np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 1, 3), self._rvec,
                                  self._tvec, self._k, None)
        return uv.reshape(-1, 2)

    def image(self, scope_to_ct: np.ndarray | None) -> np.ndarray:
        """The view with the tool (shaft and tip) drawn, or without it when `scope_to_ct` is None."""
        out = self.background.copy()
        if scope_to_ct is not None:
            tip, axis = scope_to_ct[:3, 3], scope_to_ct[:3, 2]
            uv = np.round(self.project(np.stack([tip - SHAFT_MM * axis, tip]))).astype(int)
            cv2.line(out, tuple(uv[0]), tuple(uv[1]), TOOL_RGB, 4, cv2.LINE_AA)
            cv2.circle(out, tuple(uv[1]), 5, TOOL_RGB, -1, cv2.LINE_AA)
        return out


class SliceViews:
    """Axial, sagittal and coronal CT slices through the tip (`size_mm` square at `pixel_mm`)."""

    def __init__(self, ct, entry_lps_mm, target_lps_mm, size_mm: float = 70.0, pixel_mm: float = 0.5,
                 display_px: int = 240):
        # float32 once: `sample` would otherwise convert the whole CT on every call.
        self.ct = ct.with_voxels(np.asarray(ct.voxels, dtype=np.float32))
        self.entry = np.asarray(entry_lps_mm, dtype=np.float64)
        self.target = np.asarray(target_lps_mm, dtype=np.float64)
        self.size_mm, self.pixel_mm, self.display_px = size_mm, pixel_mm, display_px
        self._pixels = int(round(size_mm / pixel_mm))

    def _plane(self, orientation: str, centre: np.ndarray) -> SlicePlane:
        u, v = (np.asarray(a) for a in SLICE_AXES[orientation])
        half = self.pixel_mm * (self._pixels - 1) / 2.0
        return SlicePlane(centre - half * u - half * v, u, v, self.pixel_mm, (self._pixels, self._pixels))

    def images(self, scope_to_ct: np.ndarray | None) -> dict[str, np.ndarray]:
        """orientation -> (display_px, display_px, 3) uint8 RGB."""
        centre = self.target if scope_to_ct is None else scope_to_ct[:3, 3]
        scale = self.display_px / self._pixels
        images = {}
        for orientation in SLICE_AXES:
            plane = self._plane(orientation, centre)
            grey = window_image(sample(self.ct, plane, order=1))
            rgb = cv2.resize(np.repeat(grey[:, :, None], 3, axis=2), (self.display_px, self.display_px),
                             interpolation=cv2.INTER_LINEAR)

            def px(points: np.ndarray, plane: SlicePlane = plane) -> np.ndarray:
                uv, _ = plane.to_pixels(points)
                return np.round(uv * scale).astype(int)

            path = px(np.stack([self.entry, self.target]))
            cv2.line(rgb, tuple(path[0]), tuple(path[1]), PATH_RGB, 1, cv2.LINE_AA)
            cv2.drawMarker(rgb, tuple(px(self.target[None])[0]), TARGET_RGB, cv2.MARKER_CROSS, 10, 1)
            if scope_to_ct is not None:
                tip, axis = scope_to_ct[:3, 3], scope_to_ct[:3, 2]
                shaft = px(np.stack([tip - SHAFT_MM * axis, tip]))
                cv2.line(rgb, tuple(shaft[0]), tuple(shaft[1]), TOOL_RGB, 2, cv2.LINE_AA)
                cv2.circle(rgb, tuple(shaft[1]), 4, TOOL_RGB, -1, cv2.LINE_AA)
            else:
                cv2.putText(rgb, "no tip: through target", (6, self.display_px - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                            (255, 80, 80), 1, cv2.LINE_AA)
            cv2.putText(rgb, orientation, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
            images[orientation] = rgb
        return images

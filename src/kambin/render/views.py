"""The pictures the CLI, the report and the monitor ask for, one function each.

A planned path is an (entry, target) pair of LPS mm points: the endoscope enters at the skin
(entry) and travels toward the target. Every picture carries the disclaimer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from kambin.atomic import atomic_file
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.imaging import Volume
from kambin.render.drr import CArmGeometry, DrrProjector, fluoro_image, tool_line_integrals
from kambin.render.endoscope import EndoscopeCamera, scope_pose
from kambin.render.meshes import Mesh, mesh_from_mask, meshes_from_labels
from kambin.render.scene import EndoscopeRenderer

DISCLAIMER = "kambin - research and training use only, not a medical device"
BONE_THRESHOLD_HU = 250.0
# Label ids left out of the endoscope scene: skin, subcutaneous and visceral fat, peritoneal
# cavity, generic muscle; the scope passes through them on its way in.
ENDOSCOPE_EXCLUDED_IDS = (250, 251, 252, 253, 254)
NEEDLE_DIAMETER_MM = 1.27  # 18 gauge
CANNULA_WALL_MM = 0.5
AT_CHOICES = ("entry", "target")


def check_path(entry_lps_mm: Sequence[float], target_lps_mm: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    entry = np.asarray(entry_lps_mm, dtype=np.float64)
    target = np.asarray(target_lps_mm, dtype=np.float64)
    if entry.shape != (3,) or target.shape != (3,) or not (np.all(np.isfinite(entry)) and np.all(np.isfinite(target))):
        raise InvalidInputError(
            f"entry and target must be 3 finite numbers each (LPS mm), got {entry_lps_mm}, {target_lps_mm}"
        )
    if np.linalg.norm(target - entry) < 1.0:
        raise InvalidInputError("entry and target are less than 1 mm apart; give two distinct points (LPS mm)")
    return entry, target


def annotate(image: np.ndarray, lines: Sequence[str] = (), corner_marks: dict[str, str] | None = None) -> np.ndarray:
    """Write caption lines (top left), side letters, and the disclaimer (bottom) on a copy."""
    out = np.ascontiguousarray(image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)).copy()
    height, width = out.shape[:2]
    scale = max(0.35, width / 1400.0)
    for n, text in enumerate(lines):
        origin = (8, int(18 + n * 40 * scale))
        cv2.putText(out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)
    for side, letter in (corner_marks or {}).items():
        size = cv2.getTextSize(letter, cv2.FONT_HERSHEY_SIMPLEX, 2 * scale, 2)[0]
        position = {
            "left": (8, height // 2), "right": (width - size[0] - 8, height // 2),
            "top": (width // 2 - size[0] // 2, size[1] + 8),
            "bottom": (width // 2 - size[0] // 2, height - 30),
        }[side]
        cv2.putText(out, letter, position, cv2.FONT_HERSHEY_SIMPLEX, 2 * scale, (255, 220, 0), 2, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(out, DISCLAIMER, (8, height - 8), font, 0.8 * scale, (170, 170, 170), 1, cv2.LINE_AA)
    return out


def fluoroscopy_view(
    ct: Volume,
    view: str = "ap",
    lao_deg: float = 0.0,
    cran_deg: float = 0.0,
    *,
    path: tuple[Sequence[float], Sequence[float]] | None = None,
    cannula_diameter_mm: float | None = None,
    pixels: int = 512,
    isocenter_lps_mm: Sequence[float] | None = None,
    invert: bool = False,
    projector: DrrProjector | None = None,
) -> np.ndarray:
    """(pixels, pixels, 3) uint8 simulated C-arm image, with the needle (or cannula) on the path.

    The isocentre is the path's target if a path is given, else the CT's centre.
    """
    if ct.modality not in ("CT", "unknown"):
        raise InvalidInputError(f"a DRR needs a CT in Hounsfield units, got modality {ct.modality!r}")
    if not 16 <= pixels <= 4096:
        raise InvalidInputError(f"image size must be 16 to 4096 pixels, got {pixels}")
    if isocenter_lps_mm is None:
        if path is not None:
            isocenter_lps_mm = check_path(*path)[1]
        else:
            low, high = ct.extent_lps_mm()
            isocenter_lps_mm = (low + high) / 2.0
    geometry = CArmGeometry(tuple(isocenter_lps_mm), view=view, lao_deg=lao_deg, cran_deg=cran_deg,
                            detector_pixels=(pixels, pixels))
    projector = projector or DrrProjector(ct)
    integrals = projector.line_integrals(geometry)
    if path is not None:
        entry, target = check_path(*path)
        if cannula_diameter_mm is None:
            integrals = integrals + tool_line_integrals(geometry, entry, target, NEEDLE_DIAMETER_MM)
        else:
            if not 1.0 <= cannula_diameter_mm <= 15.0:
                raise InvalidInputError(f"cannula diameter must be 1 to 15 mm, got {cannula_diameter_mm}")
            integrals = integrals + tool_line_integrals(
                geometry, entry, target, cannula_diameter_mm, wall_mm=CANNULA_WALL_MM
            )
    image = fluoro_image(integrals, invert=invert)
    marks = {"right": "L", "left": "R"} if view == "ap" else {"right": "A", "left": "P"}
    caption = f"{view.upper()}  LAO {lao_deg:+.0f}  CRAN {cran_deg:+.0f}"
    return annotate(image, [caption], marks if abs(lao_deg) < 45 else None)


def endoscope_meshes(ct: Volume, labels: Volume | None = None, *, target_reduction: float = 0.6) -> list[Mesh]:
    """Meshes for the endoscope scene: from a label map on the CT's grid, else bone from the CT."""
    if labels is not None:
        if not labels.same_grid(ct):
            raise InvalidInputError("the label map is not on the CT's grid; resample it onto the CT first")
        meshes = meshes_from_labels(labels, exclude=ENDOSCOPE_EXCLUDED_IDS, target_reduction=target_reduction)
    else:
        bone = mesh_from_mask(np.asarray(ct.voxels) >= BONE_THRESHOLD_HU, ct.voxel_to_lps, name="bone",
                              label_id=0, color_rgb=(0.93, 0.89, 0.78), target_reduction=target_reduction)
        meshes = [] if bone is None else [bone]
    if not meshes:
        raise InvalidInputError("nothing to show: no labelled structures (or no bone above 250 HU) in this CT")
    return meshes


def tip_position(entry: np.ndarray, target: np.ndarray, at: str | float) -> np.ndarray:
    """Tip position for `at` = "entry", "target" or a depth in mm from the entry along the path."""
    length = float(np.linalg.norm(target - entry))
    if isinstance(at, str):
        if at in AT_CHOICES:
            return entry if at == "entry" else target
        try:
            at = float(at)
        except ValueError:
            raise InvalidInputError(f"--at must be one of {AT_CHOICES} or a depth in mm, not {at!r}") from None
    if not 0.0 <= at <= length:
        raise InvalidInputError(f"depth {at} mm is outside the path (0 to {length:.1f} mm from the entry)")
    return entry + (target - entry) * (at / length)


def endoscope_view(
    meshes: Sequence[Mesh],
    entry_lps_mm: Sequence[float],
    target_lps_mm: Sequence[float],
    *,
    at: str | float = "target",
    optics_angle_deg: float = 30.0,
    roll_deg: float = 0.0,
    size: tuple[int, int] = (640, 480),
    caption: bool = True,
) -> np.ndarray:
    """(H, W, 3) uint8 virtual endoscope image with the tip on the path, looking along it."""
    entry, target = check_path(entry_lps_mm, target_lps_mm)
    tip = tip_position(entry, target, at)
    camera = EndoscopeCamera.create(size[0], size[1], optics_angle_deg=optics_angle_deg)
    with EndoscopeRenderer(meshes, camera) as renderer:
        frame = renderer.render(scope_pose(tip, target - entry, roll_deg=roll_deg))
    if not caption:
        return frame.color_rgb
    depth = float(np.linalg.norm(tip - entry))
    to_target = float(np.linalg.norm(target - tip))
    return annotate(frame.color_rgb, [f"{optics_angle_deg:.0f} deg optics", f"depth {depth:.1f} mm",
                                      f"to target {to_target:.1f} mm"])


def flythrough_frames(
    meshes: Sequence[Mesh],
    entry_lps_mm: Sequence[float],
    target_lps_mm: Sequence[float],
    *,
    step_mm: float = 0.5,
    optics_angle_deg: float = 30.0,
    size: tuple[int, int] = (640, 480),
) -> Iterator[np.ndarray]:
    """Endoscope frames (RGB uint8) from the entry to the target every `step_mm`."""
    entry, target = check_path(entry_lps_mm, target_lps_mm)
    if step_mm <= 0:
        raise InvalidInputError(f"step must be positive, got {step_mm} mm")
    length = float(np.linalg.norm(target - entry))
    camera = EndoscopeCamera.create(size[0], size[1], optics_angle_deg=optics_angle_deg)
    direction = target - entry
    with EndoscopeRenderer(meshes, camera) as renderer:
        for depth in np.append(np.arange(0.0, length, step_mm), length):
            tip = entry + direction * (depth / length)
            frame = renderer.render(scope_pose(tip, direction))
            yield annotate(frame.color_rgb, [f"depth {depth:5.1f} mm", f"to target {length - depth:5.1f} mm"])


def write_image(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an RGB or grey uint8 image (PNG or JPEG) atomically: a temporary file, then a rename."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise InvalidInputError(f"image output must end in .png or .jpg, got {path.name!r}")
    bgr = image[:, :, ::-1] if image.ndim == 3 else image
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(bgr))
    if not ok:
        raise UnreadableFileError(f"could not encode {path.name}")
    with atomic_file(path, suffix) as temporary:
        temporary.write_bytes(encoded.tobytes())
    return path


def write_video(frames: Iterator[np.ndarray], path: str | os.PathLike, fps: float = 25.0) -> int:
    """Write RGB frames to an MP4 (OpenCV, mp4v) atomically; returns the number of frames."""
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InvalidInputError(f"video output must end in .mp4, got {path.name!r}")
    count = 0
    with atomic_file(path, ".mp4") as temporary:
        writer = None
        try:
            for frame in frames:
                if writer is None:
                    height, width = frame.shape[:2]
                    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                    if not writer.isOpened():
                        raise UnreadableFileError(f"OpenCV cannot write MP4 video to {path}; check its video backend")
                writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if count == 0:
            raise InvalidInputError("no frames to write")
    return count

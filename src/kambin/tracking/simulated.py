"""A simulated optical tracker: tools moved along scripted paths, with a tracker's imperfections.

Each tool's tip follows a polyline of LPS waypoints (in the CT frame of the synthetic patient,
e.g. skin entry -> foramen target) at a given speed, bouncing between its ends; a path of one
point is a static tool (the patient reference). The CT is placed in the tracker's space by
`ct_to_tracker`. The tool's z axis points along the path, towards the target, as an endoscope's
does. On top of the true pose, seeded from one `seed`:
- noise: a random rigid perturbation about the tool tip per frame, position error of RMS 3D
  magnitude `position_rms_mm` (optical trackers: about 0.1-0.25 mm RMS, e.g. NDI Polaris Vega
  0.12 mm, Polaris Spectra 0.25 mm) and rotation error of RMS `rotation_rms_deg`;
- latency: a frame acquired at t is delivered at t + latency_s;
- jitter: the acquisition instants wander by a Gaussian of `jitter_s` around the nominal rate;
- dropouts: a tool leaves the field of view at Poisson-distributed moments (`dropouts_per_s`)
  for exponentially distributed durations (`dropout_mean_s`), and is then "missing".

References
----------
A. D. Wiles, D. G. Thompson, D. D. Frantz, "Accuracy assessment and interpretation for optical
tracking systems", Proc. SPIE 5367, 2004. doi:10.1117/12.536128 (noise figures of optical trackers)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from kambin.errors import InvalidInputError
from kambin.geometry.transforms import check_rigid, from_axis_angle, from_rotation_translation
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.source import TrackerSource


@dataclass(frozen=True)
class NoiseModel:
    """Tracker error model: isotropic Gaussian position (3D RMS) and rotation (RMS angle) errors."""

    position_rms_mm: float = 0.25
    rotation_rms_deg: float = 0.05

    def __post_init__(self) -> None:
        if self.position_rms_mm < 0 or self.rotation_rms_deg < 0:
            raise InvalidInputError("noise RMS values must be non-negative")

    def perturb_points(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Add position noise to (N, 3) points (e.g. a traced pointer path)."""
        sigma = self.position_rms_mm / np.sqrt(3.0)
        return points + rng.normal(0.0, sigma, np.shape(points))

    def perturb_pose(
        self, tool_to_tracker: np.ndarray, pivot_in_tool: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A noisy copy of the pose: rotation about, and translation of, `pivot_in_tool`."""
        rotvec = rng.normal(0.0, np.radians(self.rotation_rms_deg) / np.sqrt(3.0), 3)
        shift = rng.normal(0.0, self.position_rms_mm / np.sqrt(3.0), 3)
        about = from_rotation_translation(np.eye(3), pivot_in_tool)
        back = from_rotation_translation(np.eye(3), -np.asarray(pivot_in_tool))
        return tool_to_tracker @ about @ from_axis_angle(rotvec, shift) @ back


@dataclass(frozen=True)
class ToolPath:
    """A tool's scripted tip path: LPS waypoints (N, 3) in CT mm, speed, and the tip offset."""

    waypoints_lps_mm: np.ndarray
    speed_mm_s: float = 10.0
    tip_in_tool_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        points = np.atleast_2d(np.asarray(self.waypoints_lps_mm, dtype=np.float64))
        if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
            raise InvalidInputError(
                f"waypoints must be finite (N, 3) LPS points, got shape {np.shape(self.waypoints_lps_mm)}"
            )
        if self.speed_mm_s <= 0:
            raise InvalidInputError(f"speed must be positive, got {self.speed_mm_s} mm/s")
        object.__setattr__(self, "waypoints_lps_mm", points)

    def tip_and_direction(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Tip position (LPS mm) and unit direction of travel towards the path's end at time t."""
        points = self.waypoints_lps_mm
        if len(points) == 1:
            return points[0].copy(), np.array([0.0, 0.0, 1.0])
        lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
        total = float(lengths.sum())
        if total <= 0:
            return points[0].copy(), np.array([0.0, 0.0, 1.0])
        s = (self.speed_mm_s * t_s) % (2 * total)
        s = s if s <= total else 2 * total - s  # bounce between the ends
        cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
        k = int(np.clip(np.searchsorted(cumulative, s, side="right") - 1, 0, len(lengths) - 1))
        direction = (points[k + 1] - points[k]) / max(lengths[k], 1e-12)
        return points[k] + direction * (s - cumulative[k]), direction


def _frame_along(direction: np.ndarray) -> np.ndarray:
    """A rotation whose z axis is `direction` (x chosen perpendicular, deterministic)."""
    z = direction / np.linalg.norm(direction)
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return np.column_stack([x, np.cross(z, x), z])


class SimulatedTracker(TrackerSource):
    """Seeded simulated optical tracker (see the module docstring for the models).

    `realtime=True` paces frames at `rate_hz` and delivers each after its latency; with
    `realtime=False` frames come at once, stamped on a simulated clock that starts at
    `clock()` on `start()` (tests, benchmarks). `truth(tool, t)` gives the noise-free pose.
    """

    def __init__(
        self,
        paths: dict[str, ToolPath],
        ct_to_tracker: np.ndarray | None = None,
        noise: NoiseModel | None = None,
        rate_hz: float = 60.0,
        latency_s: float = 0.02,
        jitter_s: float = 0.001,
        dropouts_per_s: float = 0.0,
        dropout_mean_s: float = 0.3,
        seed: int = 0,
        realtime: bool = False,
        clock=time.monotonic,
        **kwargs,
    ):
        if not paths:
            raise InvalidInputError("a simulated tracker needs at least one tool path")
        if rate_hz <= 0 or latency_s < 0 or jitter_s < 0 or dropouts_per_s < 0 or dropout_mean_s <= 0:
            raise InvalidInputError(
                "rate must be positive; latency, jitter and dropout rate non-negative; dropout duration positive"
            )
        if jitter_s > 0.25 / rate_hz:
            raise InvalidInputError(f"jitter {jitter_s} s is too large for {rate_hz} Hz (at most a quarter period)")
        super().__init__(tuple(paths), **kwargs)
        self.paths = dict(paths)
        self.ct_to_tracker = np.eye(4) if ct_to_tracker is None else check_rigid(ct_to_tracker, "ct_to_tracker")
        self.noise = NoiseModel() if noise is None else noise
        self.rate_hz, self.latency_s, self.jitter_s = rate_hz, latency_s, jitter_s
        self.dropouts_per_s, self.dropout_mean_s = dropouts_per_s, dropout_mean_s
        self.seed = seed
        self.realtime = realtime
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._start = 0.0
        self._k = 0
        self._out_until: dict[str, float] = {}

    def truth(self, tool: str, t_since_start_s: float) -> np.ndarray:
        """Noise-free `tool_to_tracker` at a time since start."""
        path = self.paths[tool]
        tip, direction = path.tip_and_direction(t_since_start_s)
        rotation = _frame_along(direction)
        tool_to_ct = from_rotation_translation(rotation, tip - rotation @ np.asarray(path.tip_in_tool_mm))
        return self.ct_to_tracker @ tool_to_ct

    def _open(self) -> None:
        self._start = self._clock()
        self._k = 0
        self._rng = np.random.default_rng(self.seed)
        self._out_until = {tool: -1.0 for tool in self.paths}

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        period = 1.0 / self.rate_hz
        t_rel = self._k * period + (self._rng.normal(0.0, self.jitter_s) if self.jitter_s > 0 else 0.0)
        t_rel = max(t_rel, 0.0)
        if self.realtime:
            wait = self._start + t_rel + self.latency_s - self._clock()
            if wait > timeout_s:
                time.sleep(max(timeout_s, 0.0))
                return None
            if wait > 0:
                time.sleep(wait)
        poses = {}
        for tool, path in self.paths.items():
            starts_dropout = self.dropouts_per_s > 0 and t_rel >= self._out_until[tool]
            if starts_dropout and self._rng.random() < self.dropouts_per_s * period:
                self._out_until[tool] = t_rel + self._rng.exponential(self.dropout_mean_s)
            if t_rel < self._out_until[tool]:
                poses[tool] = ToolPose.missing(tool, "tool out of the tracker's view")
                continue
            noisy = self.noise.perturb_pose(self.truth(tool, t_rel), np.asarray(path.tip_in_tool_mm), self._rng)
            poses[tool] = ToolPose(tool, noisy, "ok", error_mm=self.noise.position_rms_mm)
        index = self._k
        self._k += 1
        return TrackingFrame(self._start + t_rel, poses, index, t_rel)

    def _close(self) -> None:
        pass

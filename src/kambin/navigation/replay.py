"""Replay of a recorded session through the same pipeline, and exports: tracking to a PLUS sequence
(`.igs.mha`, readable by PLUS and 3D Slicer's Sequences) and the video with overlays to MP4.

A session's records are in the order the live pipeline consumed them (`pipeline.Record`): the
tracking frames that reached it, then each video frame and the guidance computed for it. Replay
feeds the pose records that precede a video record into the step for that frame, so the
synchronisation pairs the same frames and the guidance numbers come out the same as live.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kambin.atomic import atomic_file
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.navigation.pipeline import Pipeline, UpdateTransforms, guidance_fields
from kambin.navigation.recording import read_session, tracking_frame_from_record
from kambin.registration.registration_file import Registration
from kambin.tracking.frame import TrackingFrame
from kambin.tracking.plus import sequence_from_frames, write_plus_sequence
from kambin.video.frame import VideoFrame


def registration_record(registration: Registration) -> dict:
    """A registration as JSON fields (session metadata and "event" records of type registration)."""
    matrix = registration.ct_to_reference
    return {
        "type": "registration",
        "ct_to_reference": None if matrix is None else np.asarray(matrix).ravel().tolist(),
        "error_mm": registration.error_mm,
        "method": registration.method,
    }


def registration_from_record(fields: dict) -> Registration:
    matrix = fields["ct_to_reference"]
    return Registration(None if matrix is None else np.array(matrix, dtype=np.float64).reshape(4, 4),
                        fields["error_mm"], fields["method"])


def replay(directory: str | os.PathLike, pipeline: Pipeline) -> Iterator[tuple[dict, dict | None]]:
    """Run a recorded session through `pipeline` (compose it with `record=False`).

    Yields, per video frame, (the step's values, the guidance recorded live for that frame or
    None when the crash cut it off). The session's registration (metadata, then any
    registration events) is applied to the pipeline's `UpdateTransforms` as it was live.
    """
    header, records = read_session(directory)
    transforms = pipeline.operator(UpdateTransforms)
    if "registration" in header:
        transforms.set_registration(registration_from_record(header["registration"]))
    pending: list[TrackingFrame] = []
    step = None
    for record in records:
        if record.kind == "pose":
            pending.append(tracking_frame_from_record(record.t, record.fields))
        elif record.kind == "event" and record.fields.get("type") == "registration":
            transforms.set_registration(registration_from_record(record.fields))
        elif record.kind == "video":
            if step is not None:
                yield step, None
            frame = VideoFrame(record.t, record.fields["index"], record.image_rgb)
            step = pipeline.step(video_frame=frame, tracking_frames=pending)
            pending = []
        elif record.kind == "guidance" and step is not None:
            yield step, record.fields
            step = None
    if step is not None:
        yield step, None


def export_plus(directory: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write the session's tracking frames to a PLUS sequence file (`.igs.mha`), atomically."""
    path = Path(path)
    if not path.name.lower().endswith(".mha"):
        raise InvalidInputError(f"PLUS output must end in .mha (e.g. tracking.igs.mha), got {path.name!r}")
    _, records = read_session(directory, images=False)
    frames = [tracking_frame_from_record(r.t, r.fields) for r in records if r.kind == "pose"]
    if not frames:
        raise InvalidInputError(f"{directory}: the session has no tracking frames to export")
    with atomic_file(path, ".mha") as temporary:
        write_plus_sequence(sequence_from_frames(frames), temporary)
    return path


def export_mp4(directory: str | os.PathLike, pipeline: Pipeline, path: str | os.PathLike, fps: float = 30.0) -> int:
    """Replay the session and write its video with the overlays to MP4 through the one video writer,
    `kambin.render.views.write_video` (atomic); returns the frame count."""
    return write_overlay_video((values for values, _ in replay(directory, pipeline)), path, fps,
                               f"{directory}: the session has no video frames to export")


def write_overlay_video(steps: Iterator[dict], path: str | os.PathLike, fps: float, empty_message: str) -> int:
    """Write the `overlay_rgb` of pipeline steps to MP4 (`kambin.render.views.write_video`); a
    one-line error, and no file, when there is no step."""
    from kambin.render.views import write_video

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InvalidInputError(f"video output must end in .mp4, got {path.name!r}")
    steps = iter(steps)
    first = next(steps, None)
    if first is None:
        raise InvalidInputError(empty_message)
    return write_video(itertools.chain([first["overlay_rgb"]], (values["overlay_rgb"] for values in steps)),
                       path, fps=fps)


# -- the session's navigation setup, and replaying a whole session ---------------------------------

def navigation_metadata(case_source: dict, plan, intrinsics, camera_to_scope: np.ndarray, scope: str,
                        reference: str, alarms) -> dict:
    """What replay needs to rebuild a session's pipeline (session.json's "navigation"): where the
    case comes from ({"simulated": true} or {"ct": path, "labels": path}), the plan, the camera,
    the tool names and the alarm thresholds."""
    return {
        "case": dict(case_source),
        "plan": plan.model_dump(mode="json"),
        "camera": {"width": intrinsics.width, "height": intrinsics.height, "fx": intrinsics.fx,
                   "fy": intrinsics.fy, "cx": intrinsics.cx, "cy": intrinsics.cy,
                   "distortion": list(intrinsics.distortion)},
        "camera_to_scope": np.asarray(camera_to_scope, dtype=np.float64).ravel().tolist(),
        "scope": scope,
        "reference": reference,
        "alarms": alarms.model_dump(mode="json"),
    }


def navigation_setup(header: dict, directory: str | os.PathLike = "session") -> dict:
    """The session's "navigation" metadata (`navigation_metadata`), or a one-line error."""
    setup = header.get("navigation")
    if not isinstance(setup, dict):
        raise UnreadableFileError(
            f"{directory}: the session does not record its navigation setup (recorded by an older kambin); "
            "it cannot be replayed"
        )
    return setup


def session_pipeline(header: dict, directory: str | os.PathLike = "session") -> Pipeline:
    """The pipeline a session was recorded with (not recording), rebuilt from its "navigation"
    metadata: the simulated patient again, or the CT and label map it names (which must still be
    there)."""
    from kambin.calibration.intrinsics import CameraIntrinsics
    from kambin.navigation.case import case_from_files, navigation_pipeline
    from kambin.navigation.guidance import AlarmConfig
    from kambin.planning.models import Plan

    setup = navigation_setup(header, directory)
    try:
        plan = Plan.model_validate(setup["plan"])
        camera = CameraIntrinsics(**{**setup["camera"], "distortion": tuple(setup["camera"]["distortion"])})
        camera_to_scope = np.array(setup["camera_to_scope"], dtype=np.float64).reshape(4, 4)
        alarms = AlarmConfig.model_validate(setup["alarms"])
        source, scope, reference = setup["case"], setup["scope"], setup["reference"]
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableFileError(f"{directory}: damaged navigation setup in session.json ({error})") from None
    if source.get("simulated"):
        from kambin.navigation.simulation import build_case

        case = build_case(plan)
    else:
        for key in ("ct", "labels"):
            if not Path(source.get(key, "")).exists():
                raise UnreadableFileError(
                    f"{directory}: the session's {key} {source.get(key)!r} is not there any more; replay needs it"
                )
        case = case_from_files(plan, source["ct"], source["labels"])
    return navigation_pipeline(case, camera, camera_to_scope, Registration(None), alarms, scope, reference,
                               record=False)


DISTANCES = ("exiting_root", "traversing_root", "dural_sac", "bone")


def alarm_kind(text: str) -> str:
    """An alarm without its numbers: "warning: exiting root 2.4 mm" -> "warning: exiting root"."""
    return re.sub(r"\s*\(?-?\d[\d.]*\s*mm.*$", "", text)


@dataclass
class ReplaySummary:
    """A replayed session in numbers.

    frames: video frames replayed; duration_s: first to last frame's time; fps: frames / duration.
    states: guidance state -> frames. alarms: alarm kind -> {"raised": times it came on,
    "frames": frames it was on}. min_distance_mm: the smallest distance from the tip to each
    structure over the session (None: never measured). matched_recorded / recorded: frames whose
    replayed guidance equals the guidance recorded live, of those that have one (a crash cuts the
    last one off); cut_by_crash: frames without recorded guidance.
    """

    frames: int = 0
    duration_s: float = 0.0
    states: dict[str, int] = field(default_factory=dict)
    alarms: dict[str, dict[str, int]] = field(default_factory=dict)
    min_distance_mm: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(DISTANCES))
    matched_recorded: int = 0
    recorded: int = 0
    cut_by_crash: int = 0
    _first_t: float | None = None
    _on: set = field(default_factory=set)

    @property
    def fps(self) -> float:
        return (self.frames - 1) / self.duration_s if self.frames > 1 and self.duration_s > 0 else 0.0

    def add(self, values: dict, recorded: dict | None) -> None:
        guidance = values["guidance"]
        t = values["video_frame"].timestamp_s
        self._first_t = t if self._first_t is None else self._first_t
        self.duration_s = t - self._first_t
        self.frames += 1
        self.states[guidance.state] = self.states.get(guidance.state, 0) + 1
        kinds = {alarm_kind(a) for a in guidance.alarms}
        for kind in kinds:
            counts = self.alarms.setdefault(kind, {"raised": 0, "frames": 0})
            counts["frames"] += 1
            counts["raised"] += kind not in self._on
        self._on = kinds
        for name, distance in guidance.distances_mm.items():
            if name in self.min_distance_mm:
                known = self.min_distance_mm[name]
                self.min_distance_mm[name] = distance if known is None else min(known, distance)
        if recorded is None:
            self.cut_by_crash += 1
        else:
            self.recorded += 1
            self.matched_recorded += recorded == guidance_fields(guidance)

    def as_dict(self) -> dict:
        return {"frames": self.frames, "duration_s": round(self.duration_s, 3), "fps": round(self.fps, 2),
                "states": dict(self.states), "alarms": {k: dict(v) for k, v in self.alarms.items()},
                "min_distance_mm": dict(self.min_distance_mm), "matched_recorded": self.matched_recorded,
                "recorded": self.recorded, "cut_by_crash": self.cut_by_crash}


def replay_session(directory: str | os.PathLike, mp4: str | os.PathLike | None = None,
                   plus: str | os.PathLike | None = None, pipeline: Pipeline | None = None) -> ReplaySummary:
    """Replay a recorded session through its pipeline (`session_pipeline` unless one is given),
    summarise it, and export its video with the overlays (`mp4`, at the session's frame rate) and its
    tracking (`plus`). What the outputs need is checked before any is written; each is atomic."""
    for path, suffix in ((mp4, ".mp4"), (plus, ".mha")):
        if path is not None and not Path(path).name.lower().endswith(suffix):
            raise InvalidInputError(f"{Path(path).name!r} must end in {suffix}")
        if path is not None and not Path(path).parent.is_dir():
            raise InvalidInputError(f"{Path(path).parent}: output directory does not exist")
    header, records = read_session(directory, images=False)
    if pipeline is None:
        navigation_setup(header, directory)
    kinds = [(r.kind, r.t) for r in records]
    video_times = np.array([t for kind, t in kinds if kind == "video"])
    if len(video_times) == 0:
        raise InvalidInputError(f"{directory}: the session has no video frames to replay")
    if plus is not None and not any(kind == "pose" for kind, _ in kinds):
        raise InvalidInputError(f"{directory}: the session has no tracking frames to export")
    pipeline = pipeline if pipeline is not None else session_pipeline(header, directory)
    summary = ReplaySummary()

    def steps() -> Iterator[dict]:
        for values, recorded in replay(directory, pipeline):
            summary.add(values, recorded)
            yield values

    if mp4 is not None:
        write_overlay_video(steps(), mp4, frame_rate(video_times),
                            f"{directory}: the session has no video frames to replay")
    else:
        for _ in steps():
            pass
    if plus is not None:
        export_plus(directory, plus)
    return summary


def frame_rate(times_s: np.ndarray, default: float = 30.0) -> float:
    """Frames per second from acquisition times: one over the median interval."""
    if len(times_s) < 2:
        return default
    interval = float(np.median(np.diff(times_s)))
    return round(1.0 / interval, 2) if interval > 0 else default

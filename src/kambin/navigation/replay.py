"""Replay of a recorded session through the same pipeline, and exports: tracking to a PLUS sequence
(`.igs.mha`, readable by PLUS and 3D Slicer's Sequences) and the video with overlays to MP4.

A session's records are in the order the live pipeline consumed them (`pipeline.Record`): the
tracking frames that reached it, then each video frame and the guidance computed for it. Replay
feeds the pose records that precede a video record into the step for that frame, so the
synchronisation pairs the same frames and the guidance numbers come out the same as live.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from kambin.atomic import atomic_file
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.navigation.pipeline import Pipeline, Registration, UpdateTransforms
from kambin.navigation.recording import read_session
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.plus import sequence_from_frames, write_plus_sequence
from kambin.video.frame import VideoFrame


def pose_record(frame: TrackingFrame) -> dict:
    """A tracking frame as the fields of a "pose" record (matrices row-major, exact floats)."""
    return {
        "index": frame.index,
        "source_timestamp_s": frame.source_timestamp_s,
        "faults": list(frame.faults),
        "tools": {
            name: {
                "status": pose.status,
                "tool_to_tracker": [None if not np.isfinite(v) else float(v) for v in pose.tool_to_tracker.ravel()],
                "error_mm": pose.error_mm,
                "reason": pose.reason,
            }
            for name, pose in frame.poses.items()
        },
    }


def tracking_frame_from_record(t: float, fields: dict) -> TrackingFrame:
    """The inverse of `pose_record`."""
    poses = {}
    for name, item in fields["tools"].items():
        matrix = np.array([np.nan if v is None else v for v in item["tool_to_tracker"]], dtype=np.float64)
        poses[name] = ToolPose(name, matrix.reshape(4, 4), item["status"], item["error_mm"], item["reason"])
    return TrackingFrame(t, poses, fields["index"], fields["source_timestamp_s"], tuple(fields["faults"]))


def video_record_fields(frame: VideoFrame) -> dict:
    return {"index": frame.index}


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
    """Write the session's tracking frames to a PLUS sequence file (`.igs.mha`)."""
    _, records = read_session(directory)
    frames = [tracking_frame_from_record(r.t, r.fields) for r in records if r.kind == "pose"]
    if not frames:
        raise InvalidInputError(f"{directory}: the session has no tracking frames to export")
    return write_plus_sequence(sequence_from_frames(frames), path)


# MP4 codec: MPEG-4 part 2. The pip OpenCV wheel used here has no H.264 encoder ("avc1", "H264"
# and "X264" fail to open; measured with opencv-contrib-python-headless 4.14).
MP4_CODECS = ("mp4v",)


def export_mp4(directory: str | os.PathLike, pipeline: Pipeline, path: str | os.PathLike, fps: float = 30.0) -> int:
    """Replay the session and write its video with the overlays to MP4; returns the frame count."""
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InvalidInputError(f"video output must end in .mp4, got {path.name!r}")
    count = 0
    with atomic_file(path, ".mp4") as temporary:
        writer = None
        try:
            for values, _ in replay(directory, pipeline):
                image = values["overlay_rgb"]
                if writer is None:
                    writer = _open_writer(temporary, fps, image.shape[1], image.shape[0])
                writer.write(np.ascontiguousarray(image[:, :, ::-1]))
                count += 1
        finally:
            if writer is not None:
                writer.release()
        if count == 0:
            raise InvalidInputError(f"{directory}: the session has no video frames to export")
    return count


def _open_writer(path: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    for codec in MP4_CODECS:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
        if writer.isOpened():
            return writer
        writer.release()
    raise UnreadableFileError(f"OpenCV cannot write MP4 ({'/'.join(MP4_CODECS)}) to {path}; check its video backend")

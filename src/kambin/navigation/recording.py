"""Session recording: video, poses, guidance and events, written append-only in one-second chunks
so that a crash (the process killed) loses at most the last second, and read back in time order.

Layout of a session directory:
    session.json              metadata, written once at the start (atomically)
    records-000001.jsonl      one JSON object per line: {"t": seconds, "kind": ..., ...}
    video-000001.bin          JPEG frames back to back; a "video" record names chunk, offset, length
A chunk is closed (flushed and fsync'ed) and the next one opened every `chunk_s` seconds of
recording time. Within a chunk, a frame's bytes are written before the record that points to
them, and every line is flushed as it is written, so the reader only ever meets a truncated last
line or an index past the end of the data, both of which it skips.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kambin.atomic import check_new_directory, write_text_atomic
from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.video.frame import VideoFrame

DISCLAIMER = "Research and training use only; not a medical device."
FORMAT = "kambin-session-1"


@dataclass(frozen=True)
class Record:
    """One recorded item: time (s), kind ("pose", "guidance", "event", "video") and its fields."""

    t: float
    kind: str
    fields: dict
    image_rgb: np.ndarray | None = None


class SessionWriter:
    """Append-only writer; use as a context manager or call `close()`."""

    KINDS = ("pose", "guidance", "event", "video")

    def __init__(self, directory: str | os.PathLike, metadata: dict | None = None, chunk_s: float = 1.0,
                 jpeg_quality: int = 90):
        self.directory = check_new_directory(directory)
        if chunk_s <= 0:
            raise InvalidInputError(f"chunk length must be positive, got {chunk_s} s")
        self.directory.mkdir(exist_ok=True)
        self.chunk_s = chunk_s
        self.jpeg_quality = int(jpeg_quality)
        header = {"format": FORMAT, "created_unix_s": time.time(), "disclaimer": DISCLAIMER, **(metadata or {})}
        write_text_atomic(self.directory / "session.json", json.dumps(header, indent=2))
        self._chunk = 0
        self._chunk_start_t: float | None = None
        self._records = None
        self._video = None
        self._video_offset = 0
        self._open_chunk()

    def _open_chunk(self) -> None:
        self._chunk += 1
        # Held open across calls (closed in _close_chunk): a context manager cannot span them.
        self._records = open(self.directory / f"records-{self._chunk:06d}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._video = open(self.directory / f"video-{self._chunk:06d}.bin", "ab")  # noqa: SIM115
        self._video_offset = 0
        self._chunk_start_t = None

    def _close_chunk(self) -> None:
        for handle in (self._video, self._records):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()

    def _rotate_if_due(self, t: float) -> None:
        if self._chunk_start_t is None:
            self._chunk_start_t = t
        elif t - self._chunk_start_t >= self.chunk_s:
            self._close_chunk()
            self._open_chunk()
            self._chunk_start_t = t

    def write(self, t: float, kind: str, image_rgb: np.ndarray | None = None, **fields) -> None:
        """Append one record at time `t` (monotonic seconds); "video" records carry `image_rgb`."""
        if kind not in self.KINDS:
            raise InvalidInputError(f"record kind must be one of {self.KINDS}, not {kind!r}")
        if not np.isfinite(t):
            raise InvalidInputError("a record needs a finite timestamp")
        self._rotate_if_due(float(t))
        line = {"t": float(t), "kind": kind, **fields}
        if kind == "video":
            if image_rgb is None or image_rgb.ndim != 3 or image_rgb.dtype != np.uint8:
                raise InvalidInputError("a video record needs an (H, W, 3) uint8 RGB image")
            ok, encoded = cv2.imencode(".jpg", image_rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:
                raise RuntimeError("JPEG encoding failed")  # an OpenCV failure, not a user error
            data = encoded.tobytes()
            self._video.write(data)
            self._video.flush()
            line.update(chunk=self._chunk, offset=self._video_offset, length=len(data))
            self._video_offset += len(data)
        self._records.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._records.flush()

    def close(self) -> None:
        if self._records is not None and not self._records.closed:
            self._close_chunk()

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_session(directory: str | os.PathLike, images: bool = True) -> tuple[dict, Iterator[Record]]:
    """(metadata, records in time order). A session cut short by a crash reads up to its last
    complete record; a truncated last line or frame is skipped. `images=False` leaves the video
    records' images undecoded (None; a frame cut short still ends the chunk)."""
    directory = Path(directory)
    header_path = directory / "session.json"
    if not header_path.is_file():
        raise UnreadableFileError(f"{directory}: not a kambin session (no session.json)")
    try:
        header = json.loads(header_path.read_text())
    except json.JSONDecodeError:
        raise UnreadableFileError(f"{header_path}: damaged session header") from None
    if header.get("format") != FORMAT:
        raise UnreadableFileError(f"{directory}: session format {header.get('format')!r}, expected {FORMAT}")
    return header, _records(directory, images)


def _records(directory: Path, images: bool = True) -> Iterator[Record]:
    for records_path in sorted(directory.glob("records-*.jsonl")):
        chunk = int(records_path.stem.split("-")[1])
        video_path = directory / f"video-{chunk:06d}.bin"
        video = video_path.read_bytes() if video_path.exists() else b""
        for line in records_path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut by a crash: the end of this chunk
            t, kind = item.pop("t"), item.pop("kind")
            image = None
            if kind == "video":
                start, length = item.pop("offset"), item.pop("length")
                item.pop("chunk")
                data = video[start : start + length]
                if len(data) < length:
                    break
                if not images:
                    yield Record(t, kind, item, None)
                    continue
                decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if decoded is None:
                    break
                image = decoded[:, :, ::-1].copy()
            yield Record(t, kind, item, image)


# --- the fields of the records (`pipeline.Record` writes them, `replay` reads them) ----------------


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

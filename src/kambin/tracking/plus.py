"""PLUS sequence files (`.igs.mha`, `.seq.mha`): read, write, and replay as a tracker source.

The format (PLUS toolkit, Lasso et al. 2014; read and written by 3D Slicer's Sequences module) is
a MetaImage whose header carries, for each frame, fields named `Seq_Frame%04d_<Field>`:
`<Name>Transform` (16 numbers, row-major 4x4 `Name` = e.g. `StylusToTracker`),
`<Name>TransformStatus` (OK, INVALID, MISSING, ...), `Timestamp` (seconds), and others
(`ImageStatus`, `FrameNumber`, `UnfilteredTimestamp`) that are kept verbatim. Pixel data, if
any (tracked ultrasound), follows `ElementDataFile = LOCAL`, zlib-compressed when
`CompressedData = True`, as a DimSize[0] x DimSize[1] x frames stack. ITK's MetaImage reader
(SimpleITK 2.x) returns the per-frame fields as flat metadata strings for image sequences but
refuses tracking-only files (`ElementType = MET_OTHER`, `DimSize = 0 0 N`: "Unknown PixelType"),
so this module parses the header itself.

Round trip: every header and frame field is kept as the original text, so a file read and written
again has the same fields, values and pixels; new transforms are written with Python's shortest
round-trip float repr so they read back bit for bit.

References
----------
A. Lasso, T. Heffter, A. Rankin, C. Pinter, T. Ungi, G. Fichtinger, "PLUS: open-source toolkit for
ultrasound-guided intervention systems", IEEE TBME 61(10):2527-2537, 2014.
doi:10.1109/TBME.2014.2322864. File format: PLUS user manual, "Sequence file" (plustoolkit.github.io).
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking.frame import ToolPose, TrackingFrame, nan_pose
from kambin.tracking.source import TrackerSource

_FRAME_FIELD = re.compile(r"^Seq_Frame(\d+)_(.+)$")
_ELEMENT_TYPES = {
    "MET_UCHAR": np.uint8,
    "MET_CHAR": np.int8,
    "MET_USHORT": np.uint16,
    "MET_SHORT": np.int16,
    "MET_UINT": np.uint32,
    "MET_INT": np.int32,
    "MET_FLOAT": np.float32,
    "MET_DOUBLE": np.float64,
}
# PLUS ToolStatus names -> kambin pose statuses (kambin.geometry.graph.STATUSES).
PLUS_TO_STATUS = {
    "OK": "ok",
    "MISSING": "missing",
    "OUT_OF_VIEW": "missing",
    "SWITCH_OFF": "missing",
    "REQ_TIMEOUT": "missing",
    "OUT_OF_VOLUME": "out_of_volume",
    "INVALID": "invalid",
    "UNKNOWN": "invalid",
}
STATUS_TO_PLUS = {
    "ok": "OK",
    "estimated": "OK",
    "stale": "INVALID",
    "missing": "MISSING",
    "out_of_volume": "OUT_OF_VOLUME",
    "invalid": "INVALID",
}
# Header fields recomputed on writing.
_DERIVED = ("ElementDataFile", "CompressedDataSize")


def camel_to_frame(name: str) -> str:
    """PLUS frame name to kambin's: "StylusTip" -> "stylus_tip"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def frame_to_camel(name: str) -> str:
    """kambin frame name to PLUS's: "stylus_tip" -> "StylusTip"."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def split_transform_name(name: str) -> tuple[str, str]:
    """ "StylusToTracker" -> ("stylus", "tracker")."""
    match = re.match(r"^([A-Z][A-Za-z0-9]*?)To([A-Z][A-Za-z0-9]*)$", name)
    if not match:
        raise InvalidInputError(f"transform name must look like StylusToTracker, got {name!r}")
    return camel_to_frame(match.group(1)), camel_to_frame(match.group(2))


def _format_matrix(matrix: np.ndarray) -> str:
    return " ".join(repr(float(v)) for v in np.asarray(matrix, dtype=np.float64).reshape(-1))


@dataclass
class PlusFrame:
    """One frame's fields, as text, in file order (names without the `Seq_FrameNNNN_` prefix)."""

    fields: dict[str, str] = field(default_factory=dict)

    @property
    def timestamp_s(self) -> float:
        if "Timestamp" not in self.fields:
            raise UnreadableFileError("a PLUS frame has no Timestamp field")
        return float(self.fields["Timestamp"])

    def transform_names(self) -> list[str]:
        """Names like "StylusToTracker" of the transforms in this frame."""
        return [k[: -len("Transform")] for k in self.fields if k.endswith("Transform") and len(k) > 9]

    def transform(self, name: str) -> np.ndarray:
        key = f"{name}Transform"
        if key not in self.fields:
            raise InvalidInputError(f"no transform {name!r} in this frame (has: {', '.join(self.transform_names())})")
        values = np.array(self.fields[key].split(), dtype=np.float64)
        if values.size != 16:
            raise UnreadableFileError(f"{key} has {values.size} numbers, not 16")
        return values.reshape(4, 4)

    def status(self, name: str) -> str:
        """PLUS status text of a transform ("OK" if the file has no status field for it)."""
        return self.fields.get(f"{name}TransformStatus", "OK").strip()


@dataclass
class PlusSequence:
    """A PLUS sequence: header fields, frames, and the pixel stack (frames, rows, cols[, channels]) or None."""

    header: dict[str, str]
    frames: list[PlusFrame]
    pixels: np.ndarray | None = None

    def transform_names(self) -> list[str]:
        names: list[str] = []
        for frame in self.frames:
            for name in frame.transform_names():
                if name not in names:
                    names.append(name)
        return names

    def transforms(self, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(timestamps (N,), matrices (N, 4, 4), PLUS statuses) of one transform over all frames."""
        if name not in self.transform_names():
            raise InvalidInputError(
                f"the sequence has no transform {name!r} (it has: {', '.join(self.transform_names())})"
            )
        times = np.array([f.timestamp_s for f in self.frames])
        matrices = np.array([f.transform(name) if f"{name}Transform" in f.fields else nan_pose() for f in self.frames])
        statuses = [f.status(name) if f"{name}Transform" in f.fields else "MISSING" for f in self.frames]
        return times, matrices, statuses


def read_plus_sequence(path: Path | str) -> PlusSequence:
    """Read a PLUS `.igs.mha` / `.seq.mha` file (header, per-frame fields, pixels)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFileError(f"PLUS sequence {path} does not exist")
    data = path.read_bytes()
    header: dict[str, str] = {}
    frame_fields: dict[int, dict[str, str]] = {}
    position = 0
    data_file = None
    while position < len(data):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        line = data[position:end].decode("latin-1").rstrip("\r")
        position = end + 1
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UnreadableFileError(f"{path} is not a MetaImage header (line {line[:40]!r} has no '=')")
        key, value = key.strip(), value.strip()
        match = _FRAME_FIELD.match(key)
        if match:
            frame_fields.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif key == "ElementDataFile":
            data_file = value
            break
        else:
            header[key] = value
    if "ObjectType" not in header or "DimSize" not in header:
        raise UnreadableFileError(f"{path} is not a MetaImage file (no ObjectType/DimSize)")
    try:
        dims = [int(v) for v in header["DimSize"].split()]
    except ValueError:
        raise UnreadableFileError(f"{path}: DimSize {header['DimSize']!r} is not integers") from None
    n_frames = len(frame_fields)
    if sorted(frame_fields) != list(range(n_frames)):
        raise UnreadableFileError(f"{path}: frame numbers are not 0..{n_frames - 1}")
    if len(dims) == 3 and dims[2] != n_frames:
        raise UnreadableFileError(f"{path}: DimSize says {dims[2]} frames but the header has {n_frames}")
    frames = [PlusFrame(frame_fields[i]) for i in range(n_frames)]
    pixels = _read_pixels(path, data, position, header, dims, data_file)
    for frame in frames:
        frame.timestamp_s  # noqa: B018 - raises if a frame has no timestamp
    return PlusSequence(header, frames, pixels)


def _read_pixels(path, data, position, header, dims, data_file) -> np.ndarray | None:
    if int(np.prod(dims)) == 0 or data_file is None or data_file.lower() == "none":
        return None
    element = header.get("ElementType", "MET_UCHAR")
    if element not in _ELEMENT_TYPES:
        raise UnreadableFileError(f"{path}: ElementType {element} is not supported ({', '.join(_ELEMENT_TYPES)})")
    channels = int(header.get("ElementNumberOfChannels", "1"))
    dtype = np.dtype(_ELEMENT_TYPES[element]).newbyteorder(
        ">" if header.get("BinaryDataByteOrderMSB") == "True" else "<"
    )
    if data_file == "LOCAL":
        raw = data[position:]
    else:
        external = path.parent / data_file
        if not external.is_file():
            raise UnreadableFileError(f"{path}: ElementDataFile {data_file} not found next to it")
        raw = external.read_bytes()
    if header.get("CompressedData", "False") == "True":
        size = int(header.get("CompressedDataSize", len(raw)))
        try:
            raw = zlib.decompress(raw[:size])
        except zlib.error as error:
            raise UnreadableFileError(f"{path}: compressed pixel data is corrupt ({error})") from None
    expected = int(np.prod(dims)) * channels * dtype.itemsize
    if len(raw) < expected:
        raise UnreadableFileError(f"{path}: pixel data is truncated ({len(raw)} of {expected} bytes)")
    shape = (dims[2], dims[1], dims[0]) + ((channels,) if channels > 1 else ())
    return np.frombuffer(raw[:expected], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_plus_sequence(sequence: PlusSequence, path: Path | str, compress: bool | None = None) -> Path:
    """Write a PLUS sequence file; `compress` defaults to the header's CompressedData."""
    path = Path(path)
    header = {k: v for k, v in sequence.header.items() if k not in _DERIVED}
    header.setdefault("ObjectType", "Image")
    header.setdefault("NDims", "3")
    header.setdefault("BinaryData", "True")
    header.setdefault("BinaryDataByteOrderMSB", "False")
    n = len(sequence.frames)
    payload = b""
    if sequence.pixels is None:
        header["DimSize"] = f"0 0 {n}"
        header.setdefault("ElementType", "MET_UCHAR")
        compress = False
    else:
        pixels = np.ascontiguousarray(sequence.pixels)
        if len(pixels) != n:
            raise InvalidInputError(f"{len(pixels)} images for {n} frames")
        header["DimSize"] = f"{pixels.shape[2]} {pixels.shape[1]} {n}"
        element = {np.dtype(v): k for k, v in _ELEMENT_TYPES.items()}.get(pixels.dtype)
        if element is None:
            raise InvalidInputError(f"pixel type {pixels.dtype} cannot be written to MetaImage")
        header["ElementType"] = element
        if pixels.ndim == 4:
            header["ElementNumberOfChannels"] = str(pixels.shape[3])
        header["BinaryDataByteOrderMSB"] = "False"
        payload = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
        if compress is None:
            compress = header.get("CompressedData", "False") == "True"
    header["CompressedData"] = "True" if compress else "False"
    if compress:
        payload = zlib.compress(payload)
    lines = []
    for key, value in header.items():
        lines.append(f"{key} = {value}")
        if key == "CompressedData" and compress:
            lines.append(f"CompressedDataSize = {len(payload)}")
    for i, frame in enumerate(sequence.frames):
        for key, value in frame.fields.items():
            lines.append(f"Seq_Frame{i:04d}_{key} = {value}")
    lines.append("ElementDataFile = LOCAL")
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1") + payload)
    return path


def sequence_from_frames(frames: list[TrackingFrame], tracker_frame: str = "tracker") -> PlusSequence:
    """A PLUS sequence (no images) holding tracking frames: `<Tool>To<Tracker>Transform` per tool."""
    target = frame_to_camel(tracker_frame)
    plus_frames = []
    for frame in frames:
        fields: dict[str, str] = {}
        for pose in frame.poses.values():
            name = f"{frame_to_camel(pose.tool)}To{target}"
            matrix = pose.tool_to_tracker if np.all(np.isfinite(pose.tool_to_tracker)) else np.eye(4)
            fields[f"{name}Transform"] = _format_matrix(matrix)
            fields[f"{name}TransformStatus"] = STATUS_TO_PLUS[pose.status]
        stamp = frame.source_timestamp_s if frame.source_timestamp_s is not None else frame.timestamp_s
        fields["Timestamp"] = repr(float(stamp))
        fields["ImageStatus"] = "INVALID"
        plus_frames.append(PlusFrame(fields))
    header = {
        "ObjectType": "Image",
        "NDims": "3",
        "AnatomicalOrientation": "RAI",
        "BinaryData": "True",
        "BinaryDataByteOrderMSB": "False",
        "CompressedData": "False",
        "DimSize": f"0 0 {len(plus_frames)}",
        "ElementType": "MET_UCHAR",
    }
    return PlusSequence(header, plus_frames, None)


def tracking_frame(frame: PlusFrame, index: int, timestamp_s: float, tracker_frame: str | None = None) -> TrackingFrame:
    """Convert one PLUS frame's `<Tool>To<Tracker>` transforms to a TrackingFrame.

    Only transforms to `tracker_frame` (default: the most common target) become tool poses.
    """
    poses = {}
    for name in frame.transform_names():
        try:
            tool, target = split_transform_name(name)
        except InvalidInputError:
            continue
        if tracker_frame is not None and target != tracker_frame:
            continue
        status = PLUS_TO_STATUS.get(frame.status(name).upper(), "invalid")
        matrix = frame.transform(name)
        reason = "" if status == "ok" else f"PLUS status {frame.status(name)}"
        poses[tool] = ToolPose(tool, matrix if status == "ok" else nan_pose(), status, None, reason)
    return TrackingFrame(timestamp_s, poses, index, frame.timestamp_s)


class PlusReplaySource(TrackerSource):
    """Replays a PLUS sequence as a tracker, keeping the recording's time intervals.

    Frame i is stamped `start + (t_i - t_0) / speed` on the monotonic clock (t_i the recorded
    Timestamp, kept as `source_timestamp_s`). With `realtime=True` `get_frame` waits until that
    moment; with `realtime=False` it returns at once (analysis, tests). Recorded timestamps that
    go backwards are passed through and caught by the fault monitor.
    """

    def __init__(
        self,
        path_or_sequence: Path | str | PlusSequence,
        tracker_frame: str = "tracker",
        realtime: bool = True,
        speed: float = 1.0,
        clock=time.monotonic,
        **kwargs,
    ):
        sequence = (
            path_or_sequence if isinstance(path_or_sequence, PlusSequence) else read_plus_sequence(path_or_sequence)
        )
        if not sequence.frames:
            raise UnreadableFileError("the PLUS sequence has no frames")
        if speed <= 0:
            raise InvalidInputError(f"replay speed must be positive, got {speed}")
        tools = []
        for name in sequence.transform_names():
            try:
                tool, target = split_transform_name(name)
            except InvalidInputError:
                continue
            if target == tracker_frame and tool not in tools:
                tools.append(tool)
        if not tools:
            raise InvalidInputError(
                f"the sequence has no transforms to {frame_to_camel(tracker_frame)} "
                f"(it has: {', '.join(sequence.transform_names())})"
            )
        super().__init__(tuple(tools), **kwargs)
        self.sequence = sequence
        self.tracker_frame = tracker_frame
        self.realtime = realtime
        self.speed = speed
        self._clock = clock
        self._next = 0
        self._start = 0.0

    def _open(self) -> None:
        self._next = 0
        self._start = self._clock()

    def _acquire(self, timeout_s: float) -> TrackingFrame | None:
        if self._next >= len(self.sequence.frames):
            self._end_of_stream()
            return None
        frame = self.sequence.frames[self._next]
        t0 = self.sequence.frames[0].timestamp_s
        due = self._start + (frame.timestamp_s - t0) / self.speed
        if self.realtime:
            wait = due - self._clock()
            if wait > timeout_s:
                time.sleep(max(timeout_s, 0.0))
                return None
            if wait > 0:
                time.sleep(wait)
        index = self._next
        self._next += 1
        return tracking_frame(frame, index, due, self.tracker_frame)

    def _close(self) -> None:
        pass

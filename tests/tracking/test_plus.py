"""PLUS sequence files: real recordings from PlusLibData (BSD-3, ../shared/data/tracking/plus)."""

from __future__ import annotations

import numpy as np
import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.tracking import (
    PlusReplaySource,
    TrackerState,
    TrackerStateError,
    read_plus_sequence,
    sequence_from_frames,
    write_plus_sequence,
)
from kambin.tracking.frame import ToolPose, TrackingFrame
from kambin.tracking.plus import camel_to_frame, frame_to_camel, split_transform_name

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

FILES = (
    "EightLandmarkPointsTrackedForPhantomRegistration.igs.mha",
    "SpinePhantomFreehand.igs.mha",
    "NwirePhantomFreehand.igs.mha",
    "TransformInterpolationTest.igs.mha",
)


@pytest.fixture(scope="module")
def plus_dir(shared_data):
    return shared_data / "tracking" / "plus" / "TestImages"


def test_names():
    assert split_transform_name("StylusTipToReference") == ("stylus_tip", "reference")
    assert frame_to_camel("stylus_tip") == "StylusTip" and camel_to_frame("StylusTip") == "stylus_tip"
    with pytest.raises(InvalidInputError):
        split_transform_name("stylus")


def test_bad_files(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        read_plus_sequence(tmp_path / "none.igs.mha")
    text = tmp_path / "text.igs.mha"
    text.write_text("hello world\n")
    with pytest.raises(UnreadableFileError, match="no '='"):
        read_plus_sequence(text)
    truncated = tmp_path / "trunc.igs.mha"
    truncated.write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 4 4 1\nElementType = MET_UCHAR\n"
        "Seq_Frame0000_Timestamp = 1.0\nElementDataFile = LOCAL\nabc"
    )
    with pytest.raises(UnreadableFileError, match="truncated"):
        read_plus_sequence(truncated)
    wrong_count = tmp_path / "count.igs.mha"
    wrong_count.write_text(
        "ObjectType = Image\nDimSize = 0 0 2\nSeq_Frame0000_Timestamp = 1.0\nElementDataFile = LOCAL\n"
    )
    with pytest.raises(UnreadableFileError, match="2 frames"):
        read_plus_sequence(wrong_count)


def test_eight_landmark_recording_frame_by_frame(plus_dir):
    sequence = read_plus_sequence(plus_dir / FILES[0])
    assert len(sequence.frames) == 1000 and sequence.pixels is None
    assert sequence.transform_names() == ["ReferenceToTracker", "StylusToTracker"]
    times, stylus, status = sequence.transforms("StylusToTracker")
    assert times[0] == 280.4611428572264 and times[-1] == 347.0668714287492
    assert np.all(np.diff(times) > 0)
    assert stylus[0, 0, 3] == 315.55283203125 and stylus[0, 2, 1] == -0.8617411412031651
    assert stylus[999, 0, 3] == 316.66904296875
    assert status.count("OK") == 1000


def test_image_sequence_pixels_and_statuses(plus_dir):
    sequence = read_plus_sequence(plus_dir / "SpinePhantomFreehand.igs.mha")
    assert sequence.pixels.shape == (21, 616, 820) and sequence.pixels.dtype == np.uint8
    assert sequence.pixels.max() > 0
    _, _, status = sequence.transforms("StylusToTracker")
    assert len(status) == 21
    nwire = read_plus_sequence(plus_dir / "NwirePhantomFreehand.igs.mha")
    assert nwire.transforms("StylusToTracker")[2][0] == "INVALID"


@pytest.mark.parametrize("name", FILES)
def test_written_sequences_open_again_identically(plus_dir, tmp_path, name):
    original = read_plus_sequence(plus_dir / name)
    path = write_plus_sequence(original, tmp_path / name)
    again = read_plus_sequence(path)
    assert [f.fields for f in again.frames] == [f.fields for f in original.frames]
    assert {k: v for k, v in again.header.items() if k != "CompressedDataSize"} == {
        k: v for k, v in original.header.items() if k != "CompressedDataSize"
    }
    if original.pixels is None:
        assert again.pixels is None
    else:
        assert np.array_equal(again.pixels, original.pixels)
    for transform in original.transform_names():
        assert np.array_equal(again.transforms(transform)[1], original.transforms(transform)[1], equal_nan=True)
    # Writing the re-read sequence gives the same bytes.
    assert write_plus_sequence(again, tmp_path / "second.mha").read_bytes() == path.read_bytes()


def test_kambin_frames_round_trip_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m = np.eye(4)
        m[:3, :3] = q * np.sign(np.linalg.det(q))
        m[:3, 3] = rng.normal(0, 100, 3)
        status = "missing" if i == 7 else "ok"
        pose = ToolPose("pointer", m, status) if status == "ok" else ToolPose.missing("pointer")
        frames.append(
            TrackingFrame(100.0 + i / 30, {"pointer": pose, "reference": ToolPose("reference", np.eye(4), "ok")}, i)
        )
    path = write_plus_sequence(sequence_from_frames(frames), tmp_path / "k.igs.mha")
    source = PlusReplaySource(path, realtime=False)
    assert set(source.tools) == {"pointer", "reference"}
    source.start()
    replayed = []
    while (frame := source.get_frame()) is not None:
        replayed.append(frame)
    assert source.state is TrackerState.STOPPED
    assert len(replayed) == 20
    for a, b in zip(frames, replayed, strict=True):
        assert b.source_timestamp_s == a.timestamp_s
        assert b.poses["pointer"].status == a.poses["pointer"].status
        if a.poses["pointer"].is_valid:
            assert np.array_equal(b.poses["pointer"].tool_to_tracker, a.poses["pointer"].tool_to_tracker)
    assert any("pointer missing" in f for f in replayed[7].faults)


def test_replay_keeps_original_time_intervals(plus_dir):
    ticks = iter(np.arange(0, 1000, 0.001))
    source = PlusReplaySource(plus_dir / FILES[0], realtime=False, clock=lambda: next(ticks))
    source.start()
    first = source.get_frame()
    frames = [first] + [source.get_frame() for _ in range(99)]
    recorded = np.array([f.source_timestamp_s for f in frames])
    stamped = np.array([f.timestamp_s for f in frames])
    assert np.allclose(np.diff(stamped), np.diff(recorded), atol=1e-9)
    source.stop()
    with pytest.raises(TrackerStateError, match="stopped"):
        source.get_frame()


def test_replay_realtime_waits(plus_dir):
    import time

    source = PlusReplaySource(plus_dir / FILES[0], realtime=True, speed=10.0)
    with source:
        start = time.monotonic()
        for _ in range(16):
            source.get_frame()
        elapsed = time.monotonic() - start
    recorded = read_plus_sequence(plus_dir / FILES[0]).frames
    expected = (recorded[15].timestamp_s - recorded[0].timestamp_s) / 10.0
    assert expected * 0.9 < elapsed < expected + 0.5

"""Video sources: the state machine, files written and read back frame for frame, a capture
device that is not there, and the simulated endoscope."""

import time

import cv2
import numpy as np
import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.render.endoscope import scope_pose
from kambin.render.meshes import sphere_mesh
from kambin.render.video_source import SimulatedEndoscopeSource
from kambin.video import (
    CaptureSource,
    FileSource,
    VideoConnectionError,
    VideoFrame,
    VideoState,
    VideoStateError,
)

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime

FPS = 25.0


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    """20 frames, frame n a flat grey of level 10 n, with MJPG in an AVI (lossy but flat grey survives)."""
    path = tmp_path_factory.mktemp("video") / "grey.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    assert writer.isOpened()
    for n in range(20):
        writer.write(np.full((48, 64, 3), 10 * n, np.uint8))
    writer.release()
    return path


def test_frame_checks():
    with pytest.raises(InvalidInputError, match=r"\(H, W, 3\) uint8"):
        VideoFrame(0.0, 0, np.zeros((4, 4), np.uint8))
    with pytest.raises(InvalidInputError, match="finite acquisition timestamp"):
        VideoFrame(float("nan"), 0, np.zeros((4, 4, 3), np.uint8))


def test_state_machine(video_file):
    source = FileSource(video_file)
    with pytest.raises(VideoStateError, match="call start"):
        source.read()
    source.start()
    assert source.state is VideoState.STREAMING
    with pytest.raises(VideoStateError, match="only a ready source can start"):
        source.start()
    source.stop()
    source.stop()
    assert source.state is VideoState.STOPPED


def test_file_frames_come_back_in_order_with_their_timing(video_file):
    clock = iter(np.arange(100.0, 200.0, 0.001)).__next__
    frames = []
    with FileSource(video_file, clock=clock) as source:
        while (frame := source.read()) is not None:
            frames.append(frame)
        assert source.state is VideoState.STOPPED  # stopped itself at the end
    assert [f.index for f in frames] == list(range(20))
    levels = [float(f.image_rgb.mean()) for f in frames]
    np.testing.assert_allclose(levels, [10 * n for n in range(20)], atol=3.0)
    np.testing.assert_allclose(np.diff([f.timestamp_s for f in frames]), 1 / FPS, atol=1e-9)
    assert frames[0].size == (64, 48)


def test_realtime_file_is_paced(video_file):
    with FileSource(video_file, realtime=True) as source:
        first, *rest = [source.read() for _ in range(6)]
    elapsed = rest[-1].timestamp_s - first.timestamp_s
    assert elapsed >= 5 / FPS - 0.005


def test_realtime_file_never_bursts_after_a_late_read(video_file):
    with FileSource(video_file, realtime=True) as source:
        first = source.read()
        time.sleep(3 / FPS)  # the reader falls three frames behind
        later = [source.read() for _ in range(4)]
    gaps = np.diff([first.timestamp_s] + [f.timestamp_s for f in later])
    assert gaps[0] >= 3 / FPS and gaps.min() >= 1 / FPS - 1e-3  # no catch-up burst


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(UnreadableFileError, match="no such video file"):
        FileSource(tmp_path / "none.mp4").start()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(UnreadableFileError, match="not a video file"):
        FileSource(text).start()


def test_capture_device_that_is_not_there():
    with pytest.raises(VideoConnectionError, match="cannot open video device"):
        CaptureSource("/dev/video-kambin-none").start()


def test_capture_reads_a_stream_url(video_file):
    # OpenCV opens files and URLs alike; a file stands in for a stream here.
    with CaptureSource(str(video_file)) as source:
        frames = [source.read() for _ in range(3)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert all(b.timestamp_s >= a.timestamp_s for a, b in zip(frames, frames[1:], strict=False))


def test_simulated_endoscope_moves_with_its_pose():
    ball = sphere_mesh((0.0, 0.0, 40.0), 8.0, name="ball", color_rgb=(0.9, 0.9, 0.2))

    def scope_to_ct_at(t: float) -> np.ndarray:
        # The tip starts 25 mm before the ball and advances 10 mm per second along +z.
        return scope_pose(np.array([0.0, 0.0, 15.0 + 10.0 * t]), np.array([0.0, 0.0, 1.0]))

    with SimulatedEndoscopeSource([ball], scope_to_ct_at, width=160, height=120, optics_angle_deg=0.0,
                                  rate_hz=10.0) as source:
        frames = [source.read() for _ in range(11)]
    np.testing.assert_allclose(np.diff([f.timestamp_s for f in frames]), 0.1, atol=1e-9)
    lit = [int((f.image_rgb.max(axis=2) > 40).sum()) for f in frames]
    assert lit[0] > 0 and lit[-1] > 1.5 * lit[0]  # the ball grows as the scope advances
    with pytest.raises(InvalidInputError, match="at least one mesh"):
        SimulatedEndoscopeSource([], scope_to_ct_at)


def test_simulated_endoscope_on_the_shared_clock():
    ball = sphere_mesh((0.0, 0.0, 30.0), 5.0, name="ball", color_rgb=(0.9, 0.8, 0.7))
    asked = []

    def scope_to_ct_at(t):
        asked.append(t)
        return scope_pose((0.0, 0.0, 0.0), (0.0, 0.0, 1.0))

    with SimulatedEndoscopeSource([ball], scope_to_ct_at, width=64, height=48, rate_hz=10.0,
                                  time_base="clock") as source:
        frames = [source.read() for _ in range(3)]
    # The pose callable gets each frame's own acquisition timestamp (one clock with a tracker).
    assert asked == [f.timestamp_s for f in frames]
    with pytest.raises(InvalidInputError, match="time_base must be"):
        SimulatedEndoscopeSource([ball], scope_to_ct_at, time_base="wall")

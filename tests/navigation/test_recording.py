"""Session recording: round trip, chunking, bad input, and a writer process killed mid-recording."""

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from kambin.errors import InvalidInputError, UnreadableFileError
from kambin.navigation.recording import SessionWriter, read_session

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime


def frame(n: int) -> np.ndarray:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :, 0] = 5 * n % 255
    return image


def test_round_trip_in_one_second_chunks(tmp_path):
    with SessionWriter(tmp_path / "s", metadata={"plan": "plan.json"}) as writer:
        for n in range(90):  # 3 s at 30 Hz
            t = 100.0 + n / 30
            writer.write(t, "pose", tool="scope", status="ok", tool_to_tracker=np.eye(4).ravel().tolist())
            writer.write(t, "video", image_rgb=frame(n), index=n)
            if n % 30 == 0:
                writer.write(t, "event", text=f"second {n // 30}")
    header, records = read_session(tmp_path / "s")
    records = list(records)
    assert header["plan"] == "plan.json" and "not a medical device" in header["disclaimer"]
    assert len(list((tmp_path / "s").glob("records-*.jsonl"))) == 3
    videos = [r for r in records if r.kind == "video"]
    assert [r.fields["index"] for r in videos] == list(range(90))
    assert all(abs(int(r.image_rgb[..., 0].mean()) - 5 * r.fields["index"] % 255) <= 3 for r in videos)
    assert [r.fields["text"] for r in records if r.kind == "event"] == ["second 0", "second 1", "second 2"]
    assert all(b.t >= a.t for a, b in zip(records, records[1:], strict=False))


def test_bad_input(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(InvalidInputError, match="not empty"):
        SessionWriter(tmp_path / "busy")
    with SessionWriter(tmp_path / "s") as writer:
        with pytest.raises(InvalidInputError, match="kind must be one of"):
            writer.write(0.0, "gossip")
        with pytest.raises(InvalidInputError, match="uint8 RGB image"):
            writer.write(0.0, "video", image_rgb=np.zeros((4, 4)))
    with pytest.raises(UnreadableFileError, match="not a kambin session"):
        read_session(tmp_path / "busy")


def test_killed_writer_leaves_a_session_that_replays_to_its_last_second(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        import numpy as np
        from kambin.navigation.recording import SessionWriter
        writer = SessionWriter({str(tmp_path / "s")!r}, chunk_s=1.0)
        n = 0
        while True:
            t = time.monotonic()  # the system-wide monotonic clock, comparable with the test's
            writer.write(t, "video", image_rgb=np.full((48, 64, 3), n % 250, np.uint8), index=n)
            writer.write(t, "pose", tool="scope", status="ok", index=n)
            n += 1
            if n == 10:
                print("recording", flush=True)
            time.sleep(0.01)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "recording"
    time.sleep(2.5)
    killed_at = time.monotonic()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    header, records = read_session(tmp_path / "s")
    records = list(records)
    videos = [r for r in records if r.kind == "video"]
    assert len(videos) > 50
    # It replays up to the last second before the kill, with no frame missing on the way.
    assert records[-1].t >= killed_at - 1.0
    indices = [r.fields["index"] for r in videos]
    assert indices == list(range(len(indices)))
    assert all(r.image_rgb.shape == (48, 64, 3) for r in videos)

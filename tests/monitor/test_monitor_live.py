"""`kambin monitor` on a real setup with no hardware: the simulated operating room written as a real
setup's files (PLUS recording, MP4 video, camera, hand-eye and registration JSON, CT, label map and
plan), served by the installed CLI and read through /api/status; then killed with SIGKILL while
recording, and the cut session replayed by `kambin replay` with its exports. And the live monitor
fed by an OpenIGTLink stream from kambin's own pose server on loopback: no registration first (no
tool, no numbers), then registered (numbers)."""

import json
import signal
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from helpers import KAMBIN, api, free_port, wait_until
from kambin.monitor.serve import build_monitor
from kambin.navigation import simulation as sim
from kambin.navigation.session import LiveOptions, live_setup
from kambin.navigation.sim_files import write_simulated_setup
from kambin.registration.registration_file import read_registration
from kambin.tracking.igtl import IgtlPoseServer
from kambin.tracking.plus import read_plus_sequence

# Asserts on wall-clock behaviour: `make test` runs it alone, after the parallel part.
pytestmark = pytest.mark.realtime


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The simulated operating room's case and 6 s of it written as a real setup's files."""
    case = sim.build_case()
    meshes = sim.endoscope_meshes_near_target(case)
    files = write_simulated_setup(case, tmp_path_factory.mktemp("setup"), seconds=6.0, meshes=meshes)
    return case, meshes, files


def check_guidance(guidance: dict) -> None:
    """Numbers a tip on the planned path gives: 3 to 35 mm before the target (the script's range,
    plus its 1.2 mm wobble and the tracker's noise), close to the plan, roots and sac at a distance."""
    assert 2.0 < guidance["distance_to_target_mm"] < 37.0
    assert guidance["off_plan_mm"] < 3.0 and guidance["angle_off_plan_deg"] < 5.0
    assert set(guidance["distances_mm"]) >= {"exiting_root", "traversing_root", "dural_sac"}
    assert all(np.isfinite(v) and v > 0 for v in guidance["distances_mm"].values())


def test_live_files_served_then_killed_recording_and_replayed(recorded, tmp_path):
    _, _, files = recorded
    port, sessions = free_port(), tmp_path / "sessions"
    process = subprocess.Popen(
        [str(KAMBIN), "monitor", "--plan", str(files.plan), "--tracking", f"plus:{files.tracking}",
         "--video", str(files.video), "--camera", str(files.camera), "--hand-eye", str(files.hand_eye),
         "--registration", str(files.registration), "--port", str(port), "--sessions", str(sessions)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def serving():
            if process.poll() is not None:
                raise AssertionError(f"kambin monitor exited: {process.stdout.read()}")
            try:
                status = api(port, "/api/status")
            except OSError:
                return None
            return status if status["frames"] >= 10 and status["fps"] > 0 else None

        started = time.monotonic()
        status = wait_until(serving, 90, "the live monitor to serve frames")
        print(f"live monitor on files: frames after {time.monotonic() - started:.1f} s, {status['fps']} fps")
        assert status["tracking"] == "ok" and status["video"] == "live" and status["sim"] is None
        assert status["registration"] == {"state": "ok", "error_mm": 0.6,
                                          "method": "paired-point (kambin register points)"}
        assert status["tool_drawn"] and status["guidance_state"] == "ok" and status["alarms"] == []
        assert status["fps"] > 10  # the files play at 30 Hz
        check_guidance(status["guidance"])
        assert api(port, "/api/record/start", "POST")["recording"]
        time.sleep(2.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    (session,) = sessions.iterdir()
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([str(KAMBIN), "replay", str(session), "--mp4", str(out / "overlay.mp4"), "--plus",
                             str(out / "tracking.igs.mha"), "--json", str(out / "summary.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "frames" in result.stdout and "closest exiting root" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    # 2.5 s recorded at 30 Hz; the kill loses at most the last second's chunk.
    assert 30 <= summary["frames"] <= 80 and 1.0 <= summary["duration_s"] <= 2.6
    assert summary["recorded"] >= summary["frames"] - 1 and summary["matched_recorded"] == summary["recorded"]
    assert summary["states"].get("ok", 0) >= summary["frames"] - 2
    assert all(summary["min_distance_mm"][name] > 2.0 for name in ("exiting_root", "traversing_root", "dural_sac"))
    capture = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == summary["frames"]
    ok, first = capture.read()
    capture.release()
    assert ok and first.shape == (180, 320, 3)
    plus = read_plus_sequence(out / "tracking.igs.mha")
    assert {"ScopeToTracker", "ReferenceToTracker"} <= set(plus.transform_names())
    assert len(plus.frames) >= 1.5 * summary["frames"]  # the tracker at 60 Hz, the video at 30


def test_live_over_openigtlink_without_then_with_registration(recorded, tmp_path):
    case, meshes, files = recorded
    tracker = sim.OperatingRoomTracker(sim.ScopeScript(case), sim.reference_position(case), realtime=True)
    stop = threading.Event()
    with IgtlPoseServer(port=0) as server:
        def send():
            server.wait_for_client(10.0)
            with tracker:
                while not stop.is_set():
                    frame = tracker.get_frame(timeout_s=0.2)
                    if frame is not None:
                        server.send_frame(frame)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        options = LiveOptions(files.plan, f"igtl://127.0.0.1:{server.port}", str(files.video), files.camera,
                              files.hand_eye, registration=None)
        setup = live_setup(options)
        setup.meshes = meshes  # as the CLI would make them; made once for this module
        monitor = build_monitor(setup, sessions_dir=tmp_path)
        navigator = monitor.navigator
        navigator.start()
        try:
            status = wait_until(lambda: (s := navigator.status())["frames"] >= 10 and s["tracking"] == "ok" and s,
                                30, "frames and tracking over OpenIGTLink")
            assert status["registration"]["state"] == "none" and status["guidance_state"] == "no_registration"
            assert not status["tool_drawn"] and status["guidance"] is None
            monitor.push()
            assert monitor.server.state.nav_state == "NO REGISTRATION" and monitor.server.state.g_target == "—"

            navigator.set_registration(read_registration(files.registration))
            status = wait_until(lambda: (s := navigator.status())["tool_drawn"] and s, 5, "the tool, registered")
            assert status["registration"]["state"] == "ok" and status["tracking"] == "ok"
            check_guidance(status["guidance"])
            monitor.push()
            assert monitor.server.state.nav_state == "ok" and monitor.server.state.g_target.endswith(" mm")
        finally:
            stop.set()
            sender.join(timeout=5)
            server.flush()
            navigator.stop()

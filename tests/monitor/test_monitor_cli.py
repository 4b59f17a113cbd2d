"""`kambin monitor` refuses bad input in one line with exit status 1, before building anything."""

import socket
import subprocess

from helpers import KAMBIN, one_line_error


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(KAMBIN), "monitor", *args], capture_output=True, text=True, timeout=60)


def test_a_real_setup_needs_its_inputs(tmp_path):
    one_line_error(run(), "a real setup needs --plan, --tracking, --video, --camera, --hand-eye")
    one_line_error(run("--sim", "--tracking", "plus:x.igs.mha", "--port", "0"),
                   "--tracking: only for a real setup; leave out with --sim")


def test_missing_and_invalid_plan(tmp_path):
    one_line_error(run("--sim", "--plan", str(tmp_path / "nope.json"), "--port", "0"), "no such plan file")
    bad = tmp_path / "plan.json"
    bad.write_text('{"level": "L4-L5"}')
    one_line_error(run("--sim", "--plan", str(bad), "--port", "0"), "not a valid kambin plan")


def test_port_in_use():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        one_line_error(run("--sim", "--port", str(busy.getsockname()[1])), "cannot listen on 127.0.0.1")


def test_invalid_alarm_thresholds(tmp_path):
    alarms = tmp_path / "alarms.json"
    alarms.write_text('{"warn_mm": {"exiting_root": 0.5}, "stop_mm": {"exiting_root": 1.0}}')
    one_line_error(run("--sim", "--alarms", str(alarms), "--port", "0"), "must not be below stop")
    one_line_error(run("--sim", "--alarms", str(tmp_path / "none.json"), "--port", "0"), "no such alarm file")

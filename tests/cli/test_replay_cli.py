"""`kambin replay` refuses bad input in one line with exit status 1 and writes nothing. (A recorded,
crash-cut session replayed with its exports: tests/monitor/test_monitor_live.py.)"""

import json
import subprocess

from helpers import KAMBIN, one_line_error


def replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(KAMBIN), "replay", *args], capture_output=True, text=True, timeout=60)


def test_not_a_session_and_an_old_session(tmp_path):
    (tmp_path / "empty").mkdir()
    one_line_error(replay(str(tmp_path / "empty")), "not a kambin session (no session.json)")
    old = tmp_path / "old"
    old.mkdir()
    (old / "session.json").write_text(json.dumps({"format": "kambin-session-1", "plan": {}}))
    one_line_error(replay(str(old), "--json", str(tmp_path / "summary.json")), "does not record its navigation setup")
    assert not (tmp_path / "summary.json").exists()

"""Helpers shared by the tests (importable as `helpers`: pytest puts tests/ on the path)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

#: The installed `kambin` command of this environment.
KAMBIN = Path(sys.executable).parent / "kambin"


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """The command failed with exit status 1 and one line on stderr, "error: ...", holding every one
    of `words`, and no traceback; returns that line."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert all(word in lines[0] for word in words), (words, lines[0])
    assert "Traceback" not in result.stderr
    return lines[0]


def free_port() -> int:
    """A TCP port free on loopback just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(port: int, path: str, method: str = "GET") -> dict:
    """A JSON answer of the monitor's HTTP API on loopback."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until(condition, timeout_s: float, what: str, poll_s: float = 0.01):
    """`condition()`'s first true value, polled every `poll_s`; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")

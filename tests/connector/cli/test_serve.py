"""`taskbridge run` and `taskbridge worker` as real processes: they start, serve or
process, and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from connector.storage.token_cipher import new_key


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "TASKBRIDGE_SECRET_KEY": new_key(), "TASKBRIDGE_LOG_LEVEL": "INFO"}
    script = Path(sys.executable).with_name("taskbridge")
    return subprocess.Popen([str(script), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_line(process: subprocess.Popen, pattern: str) -> re.Match:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"never printed {pattern!r}: {''.join(seen)[-2000:]}")


def test_run_serves_and_stops_on_sigterm() -> None:
    process = _start("run", "--port", "0")
    try:
        match = _wait_for_line(process, r"serving on (http://[\d.]+:\d+)")
        assert requests.get(f"{match.group(1)}/healthz", timeout=10).json() == {"status": "ok"}
        assert requests.get(f"{match.group(1)}/readyz", timeout=10).json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_worker_starts_and_stops_on_sigterm() -> None:
    process = _start("worker")
    try:
        _wait_for_line(process, r"taskbridge worker \S+ started")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

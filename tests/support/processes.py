"""Starting real servers from tests: a free loopback port, and waiting for /healthz."""

from __future__ import annotations

import socket
import subprocess
import threading

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    """Poll `url`/healthz until it answers 200; fail if the process exits first."""
    pause = threading.Event()
    for _ in range(int(seconds / 0.05)):
        assert process.poll() is None, "the server exited at start-up"
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        pause.wait(0.05)
    raise AssertionError(f"the server did not answer /healthz in {seconds:.0f} s")

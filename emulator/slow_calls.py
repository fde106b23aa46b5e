"""Slow REST calls: a share of calls waits before or after it runs (chaos tests).

`FaultSettings.delay` slows every call; a client timeout test needs only some calls to
outlast the timeout, and needs both kinds: a call held before it runs (the portal never
ran it when the client gave up) and an answer held after the call ran (the write happened,
the client cannot know). Wrap the portal's WSGI app before serving it:

    portal.wsgi_app = SlowCalls(portal.wsgi_app, rate=0.03, seconds=2.0, seed=1)
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class SlowCalls:
    """WSGI middleware: `rate` of `/rest/` requests take `seconds` longer."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, rate: float, seconds: float,
                 seed: int | None = None) -> None:
        self.app = app
        self.rate = rate
        self.seconds = seconds
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.held_before = 0
        self.held_after = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/rest/"):
            return self.app(environ, start_response)
        with self._lock:
            roll = self._random.random()
            slow, after = roll < self.rate, roll < self.rate / 2
            if slow and after:
                self.held_after += 1
            elif slow:
                self.held_before += 1
        if slow and not after:
            time.sleep(self.seconds)
        body = list(self.app(environ, start_response))
        if slow and after:
            time.sleep(self.seconds)
        return body

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

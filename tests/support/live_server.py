"""Serve a WSGI app on 127.0.0.1, port 0, in a thread; wait until it listens.

`serve_later()` binds first and mounts the app afterwards, for apps whose settings
need their own URL (TaskBridge's public URL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class _Mount:
    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"not mounted yet"]
        return self.app(environ, start_response)


@dataclass
class LiveServer:
    url: str
    port: int
    server: BaseWSGIServer
    mount: _Mount = field(default_factory=_Mount)


@contextmanager
def serve_later(host: str = "127.0.0.1") -> Iterator[LiveServer]:
    mount = _Mount()
    server = make_server(host, 0, mount, threaded=True)
    port = server.socket.getsockname()[1]
    # A short poll lets shutdown() return at once instead of after up to half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"live-{port}", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://{host}:{port}", port=port, server=server, mount=mount)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[LiveServer]:
    with serve_later(host) as live:
        live.mount.app = app
        yield live

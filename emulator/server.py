"""Serve a ``Portal`` on the keep-alive HTTP/1.1 server, in a background thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emulator.http_server import PortalHTTPServer

if TYPE_CHECKING:
    from emulator.portal import Portal
    from emulator.tls import LocalTLS


@dataclass
class RunningServer:
    """A started server: its base URL and how to stop it."""

    url: str
    port: int
    host: str
    portal: Portal
    ca_bundle: str | None
    _server: PortalHTTPServer
    _thread: threading.Thread

    def webhook_url(self, code: str, user_id: int = 1) -> str:
        return f"{self.url}/rest/{user_id}/{code}/"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.portal.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_portal_server(portal: Portal, host: str = "127.0.0.1", port: int = 0,
                       tls: LocalTLS | None = None) -> PortalHTTPServer:
    """Bind (port 0: any free port) without serving yet; the portal learns its URL."""
    # the app is looked up per request: helpers such as SlowCalls replace portal.wsgi_app
    server = PortalHTTPServer(host, port, lambda env, start: portal.wsgi_app(env, start),
                              ssl_context=tls.server_context if tls else None)
    scheme = "https" if tls else "http"
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    portal.attach_url(f"{scheme}://{shown_host}:{server.server_port}")
    return server


def serve_in_thread(portal: Portal, host: str = "127.0.0.1", port: int = 0,
                    tls: LocalTLS | None = None, timeout: float = 5.0) -> RunningServer:
    """Bind (port 0: any free port), start serving, and return once it accepts requests."""
    server = make_portal_server(portal, host, port, tls)
    started = threading.Event()

    def run() -> None:
        started.set()
        server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=run, name="emulator-server", daemon=True)
    thread.start()
    if not started.wait(timeout):
        raise RuntimeError("the emulator server did not start")
    return RunningServer(url=portal.base_url, port=server.server_port, host=host, portal=portal,
                         ca_bundle=tls.ca_bundle if tls else None, _server=server,
                         _thread=thread)

"""A small threaded HTTP/1.1 server for the portal's WSGI app, with keep-alive.

werkzeug's development server closes every connection after one answer, so each call
costs a TCP handshake (and, over HTTPS, a TLS handshake) plus a new thread. A portal keeps
connections open, and clients pool them; this server does too: one thread per
connection, requests read from a buffered stream, each answer sent in one write.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 75.0  # seconds a kept-alive connection may sit unused
MAX_LINE = 65536
MAX_HEADERS = 100
SOCKET_KEY = "emulator.socket"  # the connection's socket, for the dropped-connection fault

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 302: "Found", 304: "Not Modified",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


class _BadRequest(Exception):
    pass


class _Date:
    """The ``Date`` header, formatted once a second rather than once a call."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text = formatdate(second, usegmt=True)
            self._second = second
        return self._text


class PortalHTTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serves one WSGI app; ``shutdown()`` then ``server_close()`` also ends open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: WSGIApp,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.date = _Date()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Connection)
        self.server_port: int = self.server_address[1]

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self._open_lock:
            if alive:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: requests in a row until either side closes it."""

    server: PortalHTTPServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        scheme = "http"
        if self.server.ssl_context is not None:
            try:
                sock.settimeout(10.0)
                sock = self.server.ssl_context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return  # a client that gives up on the handshake, or speaks plain HTTP
            scheme = "https"
        sock.settimeout(IDLE_TIMEOUT)
        self.server.track(sock, True)
        reader = sock.makefile("rb", buffering=65536)
        try:
            while self._one_request(sock, reader, scheme):
                pass
        except (OSError, ValueError):
            pass  # the peer went away (or a fault dropped the socket) mid-exchange
        finally:
            self.server.track(sock, False)
            reader.close()
            with contextlib.suppress(OSError):
                sock.close()

    def _one_request(self, sock: socket.socket, reader: io.BufferedReader,
                     scheme: str) -> bool:
        """Answer one request; return whether the connection stays open."""
        line = reader.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # stray line ends between requests are allowed
            line = reader.readline(MAX_LINE + 1)
        if not line:
            return False
        try:
            method, target, version, headers = _read_head(line, reader)
            body = _read_body(sock, reader, version, headers)
        except _BadRequest as exc:
            sock.sendall(_simple_answer(400, str(exc)))
            return False
        connection = headers.get("connection", "").lower()
        keep_alive = ("close" not in connection if version == "HTTP/1.1"
                      else "keep-alive" in connection)
        environ = self._environ(sock, method, target, version, headers, body, scheme)
        status, response_headers, payload = self._run_app(environ)
        sock.sendall(self._answer(status, response_headers, payload, method, keep_alive))
        return keep_alive

    def _environ(self, sock: socket.socket, method: str, target: str, version: str,
                 headers: dict[str, str], body: bytes, scheme: str) -> dict[str, Any]:
        if "://" in target:  # absolute form: keep the path
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": headers.get("content-type", ""),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: sock,
        }
        for name, value in headers.items():
            if name in ("content-type", "content-length"):
                continue
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ

    def _run_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append

        try:
            chunks = self.server.app(environ, start_response)
            try:
                written.extend(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:  # the app's own bug: answer 500 and keep serving
            log.exception("emulator request %s failed", environ.get("PATH_INFO"))
            return "500 Internal Server Error", [("Content-Type", "text/plain")], b"error"
        if not started:
            return "500 Internal Server Error", [("Content-Type", "text/plain")], b"error"
        return started[0], started[1], b"".join(written)

    def _answer(self, status: str, headers: list[tuple[str, str]], payload: bytes,
                method: str, keep_alive: bool) -> bytes:
        code = int(status.split(None, 1)[0])
        bodiless = method == "HEAD" or code in (204, 304) or 100 <= code < 200
        lines = [f"HTTP/1.1 {status}", f"Date: {self.server.date.now()}"]
        # a HEAD answer keeps the app's length; every other one is measured here
        dropped = ("connection", "transfer-encoding") if method == "HEAD" else (
            "connection", "transfer-encoding", "content-length")
        lines.extend(f"{name}: {value}" for name, value in headers
                     if name.lower() not in dropped)
        if not bodiless:
            lines.append(f"Content-Length: {len(payload)}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if bodiless else head + payload


def _read_head(line: bytes, reader: io.BufferedReader) -> tuple[str, str, str, dict[str, str]]:
    if len(line) > MAX_LINE:
        raise _BadRequest("request line too long")
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest("malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = reader.readline(MAX_LINE + 1)
        if raw in (b"\r\n", b"\n", b""):
            return method, target, version, headers
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or len(raw) > MAX_LINE:
            raise _BadRequest("malformed header")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise _BadRequest("too many headers")


def _read_body(sock: socket.socket, reader: io.BufferedReader, version: str,
               headers: dict[str, str]) -> bytes:
    if version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(reader)
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError as exc:
        raise _BadRequest("bad Content-Length") from exc
    if length < 0:
        raise _BadRequest("bad Content-Length")
    body = reader.read(length) if length else b""
    if len(body) != length:
        raise OSError("connection closed inside the body")
    return body


def _read_chunked(reader: io.BufferedReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = reader.readline(MAX_LINE + 1).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise _BadRequest("bad chunk size") from exc
        if size == 0:
            while reader.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailers are read and ignored
            return b"".join(parts)
        parts.append(reader.read(size))
        reader.readline(MAX_LINE + 1)


def _simple_answer(code: int, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {code} {_REASONS.get(code, '')}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body

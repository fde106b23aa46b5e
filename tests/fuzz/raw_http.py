"""HTTP/1.1 on a bare socket, for requests no client library would send: control
characters in the target and in header values, any method, chunked bodies with no
Content-Length, malformed chunks, bodies with no framing at all.

Every request says `Connection: close` and the answer is read until the server closes,
so a refused body that was never read cannot spill into the next request."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: bytes  # path and query string, sent as they are
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    framing: str = "length"  # "length", "chunked", "bad chunks" or "none"


@dataclass
class RawAnswer:
    status: int  # 0: the server closed the connection without an answer
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reset: bool = False  # the server stopped reading the body before it was all sent

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> dict[str, str]:
        """Cookies the answer sets (name to value; attributes dropped)."""
        found = {}
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                found[name.strip()] = rest.split(";", 1)[0]
        return found


def encode(request: RawRequest, host: str) -> tuple[bytes, list[bytes]]:
    """The request head and the body pieces as they go on the wire."""
    lines = [request.method.encode() + b" " + request.target + b" HTTP/1.1",
             b"Host: " + host.encode(), b"Connection: close"]
    lines += [name + b": " + value for name, value in request.headers]
    body = request.body
    if request.framing == "length":
        lines.append(b"Content-Length: %d" % len(body))
        pieces = [body]
    elif request.framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        pieces = [b"%x\r\n%s\r\n" % (len(part), part)
                  for part in (body[i:i + CHUNK] for i in range(0, len(body), CHUNK))]
        pieces.append(b"0\r\n\r\n")
    elif request.framing == "bad chunks":
        lines.append(b"Transfer-Encoding: chunked")
        pieces = [b"zz\r\n" + body[:100] + b"\r\n0\r\n\r\n"]
    else:  # "none": a body with neither Content-Length nor chunks
        pieces = [body]
    return b"\r\n".join(lines) + b"\r\n\r\n", pieces


def send(host: str, port: int, request: RawRequest, timeout: float = 30.0) -> RawAnswer:
    """Send one request and read the whole answer; `TimeoutError` if the server hangs."""
    head, pieces = encode(request, f"{host}:{port}")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        reset = False
        try:
            sock.sendall(head)
            for piece in pieces:
                sock.sendall(piece)
            if request.framing == "none":
                sock.shutdown(socket.SHUT_WR)  # the end of the body is the end of input
        except TimeoutError:
            raise
        except OSError:  # a broken pipe, a reset, or already shut down by the server
            reset = True
        data = _read_all(sock)
    return parse(data, reset)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse(data: bytes, reset: bool = False) -> RawAnswer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return RawAnswer(0, reset=reset)
    headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    return RawAnswer(int(parts[1]), headers, body, reset)

"""The portal's HTTP/1.1 server: keep-alive, request bodies as clients send them."""

from __future__ import annotations

import json
import socket
import sys

import pytest

from emulator import Portal
from emulator.server import serve_in_thread
from tests.emulator.conftest import WEBHOOK_CODE


def _exchange(sock: socket.socket, request: bytes) -> tuple[str, dict[str, str], bytes]:
    sock.sendall(request)
    reader = sock.makefile("rb")
    status = reader.readline().decode().strip()
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def _post(path: str, body: bytes, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def test_one_connection_carries_many_calls(server):
    path = f"/rest/1/{WEBHOOK_CODE}/user.current.json"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        for _ in range(3):
            status, headers, body = _exchange(sock, _post(path, b"{}"))
            assert status == "HTTP/1.1 200 OK"
            assert headers["connection"] == "keep-alive"
            assert json.loads(body)["result"]["ID"] == "1"
        status, headers, _ = _exchange(sock, _post(path, b"{}", "Connection: close\r\n"))
        assert (status, headers["connection"]) == ("HTTP/1.1 200 OK", "close")
        assert sock.recv(1) == b""


def test_chunked_and_expect_continue_bodies_are_read(server):
    path = f"/rest/1/{WEBHOOK_CODE}/tasks.task.add.json"
    payload = json.dumps({"fields": {"TITLE": "Chunked", "RESPONSIBLE_ID": 1}}).encode()
    chunked = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunked += b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n"
                        for part in (payload[:10], payload[10:])) + b"0\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        status, _, body = _exchange(sock, chunked)
        assert status == "HTTP/1.1 200 OK"
        assert json.loads(body)["result"]["task"]["title"] == "Chunked"
        head = _post(path, payload, "Expect: 100-continue\r\n")[: -len(payload)]
        sock.sendall(head)  # the body follows only once the server says to go on
        reader = sock.makefile("rb")
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert reader.readline() == b"\r\n"
        status, _, body = _exchange(sock, payload)
        assert json.loads(body)["result"]["task"]["title"] == "Chunked"


def test_a_malformed_request_is_refused_with_400(server):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        status, headers, _ = _exchange(sock, b"NONSENSE\r\n\r\n")
    assert (status, headers["connection"]) == ("HTTP/1.1 400 Bad Request", "close")


def test_stopping_the_server_closes_idle_kept_alive_connections():
    running = serve_in_thread(Portal(limits=False, webhook_code=WEBHOOK_CODE))
    path = f"/rest/1/{WEBHOOK_CODE}/user.current.json"
    with socket.create_connection((running.host, running.port), timeout=5) as sock:
        assert _exchange(sock, _post(path, b"{}"))[0] == "HTTP/1.1 200 OK"
        running.stop()
        assert sock.recv(1) == b""


def test_https_without_trustme_stops_with_one_clear_line(monkeypatch):
    from emulator import runner

    monkeypatch.setitem(sys.modules, "trustme", None)  # import now fails as if not installed
    with pytest.raises(SystemExit) as stopped:
        runner.serve("127.0.0.1", 0, WEBHOOK_CODE, limits=False, https=True)
    message = str(stopped.value)
    assert "\n" not in message and "trustme" in message and "--https" in message

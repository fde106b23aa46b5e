"""How many simple REST calls per second the emulator serves with limits off.

The portal runs in a child process (its own GIL); keep-alive client threads in this
process call ``user.current`` and ``tasks.task.get`` through an incoming webhook for a
fixed time, with a lean raw-socket client (the goal's cases) and with ``requests``
(what a Python client sees). Server and client CPU per call are read too: unlike
calls/s, they do not depend on how busy the shared machine is. Baselines: a bare WSGI
app on werkzeug's server (one connection per call) and on the emulator's keep-alive
server. The serving process's peak RSS is read
from ``/proc/{pid}/status`` (``VmHWM``) before it is stopped.
Goal (issue 3): at least 1,000 calls/s. ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

GOAL_PER_SECOND = 1000.0
CODE = "bench"


def _serve_portal(queue: Any) -> None:
    from emulator import Portal
    from emulator.server import make_portal_server

    portal = Portal(limits=False, webhook_code=CODE)
    portal.as_user(1).create_task(title="bench")
    server = make_portal_server(portal)
    queue.put(portal.base_url)
    server.serve_forever()


def _bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    from werkzeug.wrappers import Response

    return Response('{"result":true}', content_type="application/json")(
        environ, start_response)


def _serve_bare(queue: Any) -> None:
    from emulator.http_server import PortalHTTPServer

    server = PortalHTTPServer("127.0.0.1", 0, _bare_app)
    queue.put(f"http://127.0.0.1:{server.server_port}")
    server.serve_forever()


def _serve_bare_werkzeug(queue: Any) -> None:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _bare_app, threaded=True)
    queue.put(f"http://127.0.0.1:{server.server_port}")
    server.serve_forever()


class LeanClient:
    """A keep-alive HTTP/1.1 client that sends one prepared POST again and again.

    ``requests`` spends about half a millisecond of CPU per call, which on two cores
    caps what a benchmark can show before the server is busy; this client spends a
    fraction of that, so the calls/s it sees is the server's. It reconnects whenever
    the server answers ``Connection: close``.
    """

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        payload = json.dumps(body).encode()
        self.request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def call(self) -> int:
        """Send the request; answer the status when the body is a JSON ``result``, else 0."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=10)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")
        self.sock.sendall(self.request)
        status = int(self.reader.readline().split()[1])
        length, close = 0, False
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        body = self.reader.read(length)
        if close:
            self.close()
        return status if "result" in json.loads(body) else 0

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
            self.sock = None


def _hammer(url: str, body: dict[str, Any], threads: int, seconds: float,
            client: str) -> dict[str, Any]:
    counts = [0] * threads
    errors = [0] * threads
    stop = threading.Event()

    def worker(index: int) -> None:
        session = requests.Session()

        def post_with_requests() -> int:
            return session.post(url, json=body, timeout=10).status_code

        lean = LeanClient(url, body)
        send = post_with_requests if client == "requests" else lean.call
        while not stop.is_set():
            if send() == 200:
                counts[index] += 1
            else:
                errors[index] += 1
        session.close()
        lean.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"client": client, "calls": sum(counts), "errors": sum(errors),
            "seconds": round(elapsed, 3), "per_second": round(sum(counts) / elapsed, 1)}


def _start(target: Callable[[Any], None]) -> tuple[multiprocessing.Process, str]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(queue,), daemon=True)
    process.start()
    return process, queue.get(timeout=30)


def _peak_rss_mb(pid: int | None) -> float | None:
    """The process's peak resident set (``VmHWM``), in MB; None off Linux."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time the process has used so far (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(target: Callable[[Any], None],
             calls: dict[str, tuple[str, dict[str, Any], str]],
             threads: int, seconds: float) -> dict[str, Any]:
    """Serve with ``target`` in a child process; hammer each path; read its peak RSS."""
    process, url = _start(target)
    try:
        rows = {}
        for name, (path, body, client) in calls.items():
            server_cpu, client_cpu = _cpu_seconds(process.pid), time.process_time()
            row = _hammer(url + path, body, threads, seconds, client)
            server_cpu = _cpu_seconds(process.pid) - server_cpu
            client_cpu = time.process_time() - client_cpu
            # CPU per call does not depend on how busy the machine is; calls/s does
            calls_done = max(row["calls"], 1)
            row["server_cpu_ms_per_call"] = round(server_cpu / calls_done * 1000, 3)
            row["client_cpu_ms_per_call"] = round(client_cpu / calls_done * 1000, 3)
            rows[name] = row
        peak = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.join(5)
    for row in rows.values():
        row["server_peak_rss_mb"] = peak
    return rows


def run(threads: int, seconds: float, with_requests: bool = True) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(_measure(_serve_bare_werkzeug, {
        "bare app, werkzeug server": ("/", {}, "lean")}, threads, seconds))
    results.update(_measure(_serve_bare, {
        "bare app, emulator server": ("/", {}, "lean")}, threads, seconds))
    hook = f"/rest/1/{CODE}"
    portal_calls = {
        "user.current": (f"{hook}/user.current.json", {}, "lean"),
        "tasks.task.get": (f"{hook}/tasks.task.get.json", {"taskId": 1}, "lean"),
    }
    if with_requests:
        portal_calls["user.current, requests"] = (f"{hook}/user.current.json", {}, "requests")
        portal_calls["tasks.task.get, requests"] = (
            f"{hook}/tasks.task.get.json", {"taskId": 1}, "requests")
    results.update(_measure(_serve_portal, portal_calls, threads, seconds))
    goal_rows = [results["user.current"], results["tasks.task.get"]]
    slowest = min(row["per_second"] for row in goal_rows)
    errors = sum(row["errors"] for name, row in results.items() if name in portal_calls)
    return {"benchmark": "emulator_throughput", "threads": threads, "seconds": seconds,
            "goal_per_second": GOAL_PER_SECOND, "results": results,
            "slowest_per_second": slowest,
            "portal_peak_rss_mb": results["user.current"]["server_peak_rss_mb"],
            "ok": slowest >= GOAL_PER_SECOND and errors == 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-requests", action="store_true",
                        help="skip the cases driven by the requests library")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    report = run(args.threads, args.seconds, not args.no_requests)
    print(f"{'case':<28}{'calls':>8}{'errors':>8}{'calls/s':>10}{'server ms CPU':>15}"
          f"{'client ms CPU':>15}{'peak RSS MB':>13}")
    for name, row in report["results"].items():
        print(f"{name:<28}{row['calls']:>8}{row['errors']:>8}{row['per_second']:>10}"
              f"{row['server_cpu_ms_per_call']:>15}{row['client_cpu_ms_per_call']:>15}"
              f"{row['server_peak_rss_mb'] or '-':>13}")
    print(f"goal >= {GOAL_PER_SECOND:.0f}/s: {'ok' if report['ok'] else 'MISSED'}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()

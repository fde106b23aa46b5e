"""How many simple REST calls per second the emulator serves with limits off.

The portal runs in a child process (its own GIL); keep-alive client threads in this
process call ``user.current`` and ``tasks.task.get`` through an incoming webhook for a
fixed time. A bare werkzeug app on the same server class is the baseline.
Goal (issue 3): at least 1,000 calls/s. ``--json`` prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

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


def _serve_baseline(queue: Any) -> None:
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from emulator.server import _QuietHandler

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return Response('{"result":true}', content_type="application/json")(
            environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    queue.put(f"http://127.0.0.1:{server.server_port}")
    server.serve_forever()


def _hammer(url: str, body: dict[str, Any], threads: int, seconds: float) -> dict[str, Any]:
    counts = [0] * threads
    errors = [0] * threads
    stop = threading.Event()

    def worker(index: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            response = session.post(url, json=body, timeout=10)
            if response.status_code == 200:
                counts[index] += 1
            else:
                errors[index] += 1
        session.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"calls": sum(counts), "errors": sum(errors), "seconds": round(elapsed, 3),
            "per_second": round(sum(counts) / elapsed, 1)}


def _start(target: Callable[[Any], None]) -> tuple[multiprocessing.Process, str]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(queue,), daemon=True)
    process.start()
    return process, queue.get(timeout=30)


def run(threads: int, seconds: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    baseline, base_url = _start(_serve_baseline)
    try:
        results["baseline_werkzeug"] = _hammer(f"{base_url}/", {}, threads, seconds)
    finally:
        baseline.terminate()
    portal, url = _start(_serve_portal)
    try:
        hook = f"{url}/rest/1/{CODE}"
        results["user.current"] = _hammer(f"{hook}/user.current.json", {}, threads, seconds)
        results["tasks.task.get"] = _hammer(f"{hook}/tasks.task.get.json", {"taskId": 1},
                                            threads, seconds)
    finally:
        portal.terminate()
    slowest = min(results["user.current"]["per_second"], results["tasks.task.get"]["per_second"])
    errors = results["user.current"]["errors"] + results["tasks.task.get"]["errors"]
    return {"benchmark": "emulator_throughput", "threads": threads, "seconds": seconds,
            "goal_per_second": GOAL_PER_SECOND, "results": results,
            "slowest_per_second": slowest, "ok": slowest >= GOAL_PER_SECOND and errors == 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args()
    report = run(args.threads, args.seconds)
    print(f"{'case':<20}{'calls':>8}{'errors':>8}{'calls/s':>10}")
    for name, row in report["results"].items():
        print(f"{name:<20}{row['calls']:>8}{row['errors']:>8}{row['per_second']:>10}")
    print(f"goal >= {GOAL_PER_SECOND:.0f}/s: {'ok' if report['ok'] else 'MISSED'}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()

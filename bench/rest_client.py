"""Reading 10,000 tasks from a rate-limited portal: TaskBridge's client, fast-bitrix24, b24pysdk.

One emulated portal (HTTPS, limits on: 2 requests/s, bucket 50) holds the tasks. Each
client reads all of them in its own child process (so its peak memory is its own); the
portal's bucket is reset between clients, and the portal counts the requests each made.
Goal: TaskBridge makes the fewest requests and takes the shortest wall time of the three.

    .venv/bin/python bench/rest_client.py [--tasks 10000] [--drain 2] [--burst 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("taskbridge", "fast_bitrix24", "b24pysdk")
WEBHOOK = "benchhook"
CLIENT_ID, CLIENT_SECRET = "local.bench.rest", "bench-secret"
SELECT = ["ID", "TITLE", "REAL_STATUS", "RESPONSIBLE_ID"]


# children: one client each ---------------------------------------------------------------
def read_taskbridge(args: dict[str, Any]) -> Callable[[], int]:
    from connector.rest.client import PortalClient
    from connector.settings import load_settings
    from connector.storage.engines import open_storage
    from connector.storage.portals import Installation
    from connector.storage.token_cipher import new_key

    folder = tempfile.mkdtemp(prefix="bench-rest-db-")
    settings = load_settings(
        database_url=f"sqlite:///{folder}/bench.sqlite3", secret_key=new_key(),
        allow_insecure_portals=True, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        oauth_url=args["url"],
    )
    storage = open_storage(settings)
    storage.portals.save(Installation(
        member_id=args["member_id"], domain=args["domain"],
        client_endpoint=f"{args['url']}/rest/", access_token=args["access_token"],
        refresh_token=args["refresh_token"],
    ))
    client = PortalClient.for_portal(storage, settings, args["member_id"])
    return lambda: sum(1 for _ in client.list_all("tasks.task.list", {"select": SELECT}))


def read_fast_bitrix24(args: dict[str, Any]) -> Callable[[], int]:
    from fast_bitrix24 import Bitrix

    client = Bitrix(f"{args['url']}/rest/1/{WEBHOOK}/", verbose=False, ssl=False)
    return lambda: len(client.get_all("tasks.task.list", {"select": SELECT}))


def read_b24pysdk(args: dict[str, Any]) -> Callable[[], int]:
    from b24pysdk import BitrixWebhook, Client

    client = Client(BitrixWebhook(domain=args["domain"], webhook_token=f"1/{WEBHOOK}"))

    def read() -> int:
        result = client.tasks.task.list(select=SELECT).as_list_fast().result
        return len(result["tasks"] if isinstance(result, dict) else list(result))

    return read


READERS = {"taskbridge": read_taskbridge, "fast_bitrix24": read_fast_bitrix24,
           "b24pysdk": read_b24pysdk}


def child(name: str, raw: str) -> None:
    args = json.loads(raw)
    tracemalloc.start()
    error = None
    started = time.perf_counter()
    baseline = 0
    try:
        read = READERS[name](args)  # set-up (storage, sessions) is not timed
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        count = read()
    except Exception as exc:  # reported as this client's result, not a crash of the bench
        count, error = 0, f"{type(exc).__name__}: {str(exc)[:200]}"
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    peak -= baseline  # what reading allocated, above what the set-up left behind
    print(json.dumps({"items": count, "wall_s": round(wall, 2), "peak_mib": round(peak / 2**20, 1),
                      "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                          / 1024, 1), "error": error}))


# parent: the portal and the table --------------------------------------------------------
def run(tasks: int, drain: float, burst: int, timeout: float) -> dict[str, Any]:
    from emulator import Portal
    from emulator.server import serve_in_thread
    from emulator.tls import make_local_tls

    folder = tempfile.mkdtemp(prefix="bench-rest-")
    tls = make_local_tls(str(Path(folder) / "tls"))
    portal = Portal(limits=True, webhook_code=WEBHOOK)
    server = serve_in_thread(portal, tls=tls)
    try:
        actions = portal.as_user(1)
        for number in range(tasks):
            actions.create_task(title=f"Task {number}")
        portal.register_app(CLIENT_ID, CLIENT_SECRET)
        portal.app(CLIENT_ID).installed = True
        env = {**os.environ, "PYTHONPATH": str(ROOT), "REQUESTS_CA_BUNDLE": tls.ca_bundle,
               "SSL_CERT_FILE": tls.ca_bundle}
        results = {}
        for name in CLIENTS:
            pair = portal.issue_tokens(CLIENT_ID, 1)
            args = {"url": server.url, "domain": portal.domain, "member_id": portal.member_id,
                    "access_token": pair.access_token, "refresh_token": pair.refresh_token}
            portal.set_limits(enabled=True, drain_rate=drain, capacity=float(burst))
            portal.call_log.clear()
            results[name] = measure(name, args, env, timeout)
            records = portal.call_log.records()
            results[name]["requests"] = sum(1 for r in records if not r.in_batch)
            results[name]["http_503"] = sum(1 for r in records if r.status == 503)
            # Time the portal spent answering: what the client's own work is measured against.
            results[name]["portal_s"] = round(sum(r.duration for r in records if not r.in_batch), 2)
    finally:
        server.stop()
    return results


def measure(name: str, args: dict[str, Any], env: dict[str, str], timeout: float) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, json.dumps(args)],
            capture_output=True, text=True, env=env, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"items": 0, "wall_s": timeout, "peak_mib": None, "maxrss_mib": None,
                "error": f"no answer within {timeout:.0f}s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"items": 0, "wall_s": None, "peak_mib": None, "maxrss_mib": None,
                "error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(lines[-1])


def verdict(results: dict[str, Any], tasks: int) -> bool:
    ours = results["taskbridge"]
    if ours["items"] != tasks or ours["error"]:
        return False
    others = [r for n, r in results.items() if n != "taskbridge" and r["items"] == tasks]
    return all(ours["requests"] <= r["requests"] and ours["wall_s"] <= r["wall_s"]
               for r in others)


def table(results: dict[str, Any]) -> str:
    head = f"{'client':<14} {'items':>6} {'requests':>8} {'503s':>5} {'wall s':>7} " \
           f"{'portal s':>8} {'peak MiB':>8} {'rss MiB':>8}  error"
    rows = [head, "-" * len(head)]
    for name, r in results.items():
        rows.append(f"{name:<14} {r['items']:>6} {r['requests']:>8} {r['http_503']:>5} "
                    f"{_num(r['wall_s']):>7} {_num(r.get('portal_s')):>8} {_num(r['peak_mib']):>8} "
                    f"{_num(r['maxrss_mib']):>8}  {r['error'] or ''}")
    return "\n".join(rows)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value}"


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--drain", type=float, default=2.0)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0, help="per client, seconds")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    results = run(options.tasks, options.drain, options.burst, options.timeout)
    ok = verdict(results, options.tasks)
    print(table(results))
    print(f"goal (fewest requests and shortest wall time): {'met' if ok else 'NOT met'}")
    if options.json:
        print(json.dumps({"benchmark": "rest_client", "tasks": options.tasks,
                          "drain": options.drain, "burst": options.burst,
                          "clients": results, "ok": ok}))


if __name__ == "__main__":
    main()

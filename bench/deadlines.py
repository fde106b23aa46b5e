"""Overdue at the deadline: how soon after each deadline does its deal show EXPIRED, what
does that cost in REST requests, and what does the scheduler's re-read of the earliest
deadline cost the database as portals are added?

The portal (the bundled emulator, limits on: 2 requests/s, bucket 50) holds `--tasks`
deals with one open task each. Their creator moves every deadline about a minute ahead:
half share one deadline, the others pass one every `--spread` seconds after it. The
worker and its scheduler run at the default settings, in threads, as `taskbridge worker`
runs them. Measured: TaskBridge's requests between the moves being handled and the first
deadline (the goal: 0), each deal's delay from its task's deadline to EXPIRED on the
portal (read in-process, no request; goal: at most 60 s), the requests and wake-ups the
expiries took. Baseline, from the same settings: the sweep alone finds a passed deadline
within `TASKBRIDGE_OVERDUE_SWEEP_INTERVAL` (300 s), 150 s on average.

The re-read: `--portals` installed portals with `--per-portal` open tasks each in a fresh
SQLite database (and PostgreSQL with `--pg-url`); the median time of the statement the
scheduler runs every 15 s and twice per wake-up.

    .venv/bin/python bench/deadlines.py [--json] [--tasks 200] [--portals 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bench.burst import CLIENT_ID, stack  # noqa: E402
from connector.scheduler.scheduler import Scheduler  # noqa: E402
from connector.settings import load_settings  # noqa: E402
from connector.storage.engines import Storage, open_storage  # noqa: E402
from connector.storage.journal import Journal  # noqa: E402
from connector.storage.schema import portals as portal_rows  # noqa: E402
from connector.storage.schema import scheduler_runs, task_snapshots  # noqa: E402
from connector.storage.snapshots import SnapshotStore  # noqa: E402
from connector.storage.token_cipher import new_key  # noqa: E402
from connector.sync.worker import Worker  # noqa: E402
from emulator import Portal  # noqa: E402

FIELD = "UF_CRM_TASKBRIDGE_STATUS"
LEAD_TIME = 60.0  # seconds from the moves to the first deadline
ON_TIME = 60.0


def _app_calls(portal: Portal) -> int:
    return sum(1 for call in portal.call_log.records()
               if call.client_id == CLIENT_ID and not call.in_batch)


def _settled(portal: Portal, storage: Storage) -> bool:
    if not portal.sender.wait_idle(timeout=1):
        return False
    return not [row for row in Journal(storage.engine).rows()
                if row["state"] in ("pending", "processing", "failed")]


def _wait(condition: Any, seconds: float) -> bool:
    until = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > until:
            return False
        time.sleep(0.2)
    return True


def _expired_option(portal: Portal) -> str:
    """The status field's option id that means EXPIRED (asked once, as the admin)."""
    import requests

    url = portal.add_webhook("bench-reader", 1)
    body = requests.post(f"{url}crm.deal.userfield.list.json",
                         json={"filter": {"FIELD_NAME": FIELD}}, timeout=10).json()
    [field] = body["result"]
    return next(str(o["ID"]) for o in field["LIST"] if o["XML_ID"] == "EXPIRED")


def run_portal(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with stack(workdir, limits=True, coalesce=2.0) as running:
        portal, storage = running.portal, running.storage
        settings = running.settings.model_copy(update={"worker_poll_interval": 1.0})
        manager = portal.add_user("Maria", "Rossi")
        far = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        deals, tasks = [], []
        for n in range(args.tasks):
            deal = portal.as_user(manager).create_deal(f"Deal {n}", assigned_by=manager)
            deals.append(deal)
            tasks.append(portal.as_user(manager).create_task(
                f"D_{deal}", title=f"Task {n}", responsible=manager, deadline=far))
        scheduler = Scheduler(storage, settings)
        worker = Worker(storage, settings, on_deadline=scheduler.nudge)
        thread = threading.Thread(target=worker.run, daemon=True)
        scheduler.start()
        thread.start()
        try:
            started = _wait(lambda: _settled(portal, storage), 600)
            first = (datetime.now(UTC) + timedelta(seconds=LEAD_TIME)).replace(microsecond=0)
            half = args.tasks // 2
            deadlines = {deal: first + timedelta(seconds=0 if i < half
                                                 else (i - half + 1) * args.spread)
                         for i, deal in enumerate(deals)}
            for deal, task in zip(deals, tasks, strict=True):
                portal.as_user(manager).update_task(task, DEADLINE=deadlines[deal].isoformat())
            moved = _wait(lambda: _settled(portal, storage),
                          (first - datetime.now(UTC)).total_seconds() - 1)
            calls_settled = _app_calls(portal)
            time.sleep(max(0.0, (first - datetime.now(UTC)).total_seconds()))
            calls_at_first = _app_calls(portal)
            option = _expired_option(portal)
            seen: dict[int, datetime] = {}
            last = max(deadlines.values())
            until = time.monotonic() + (last - datetime.now(UTC)).total_seconds() + 120
            while len(seen) < len(deals) and time.monotonic() < until:
                for deal in deals:
                    if deal not in seen and str(portal.deal(deal).get(FIELD)) == option:
                        seen[deal] = datetime.now(UTC)
                time.sleep(0.2)
            _wait(lambda: _settled(portal, storage), 30)
            calls_end = _app_calls(portal)
            with storage.engine.connect() as conn:
                wakeups = conn.execute(select(func.count()).select_from(scheduler_runs).where(
                    scheduler_runs.c.job == "deadline_wake")).scalar_one()
        finally:
            worker.stop()
            thread.join(timeout=30)
            scheduler.stop()
    delays = sorted((seen[d] - deadlines[d]).total_seconds() for d in seen)
    return {
        "tasks": args.tasks, "shared_deadline": half, "spread_s": args.spread,
        "setup_settled": started, "moves_handled_before_deadline": moved,
        "requests_between_moves_and_deadline": calls_at_first - calls_settled,
        "expired": len(seen),
        "delay_p50_s": round(statistics.median(delays), 2) if delays else None,
        "delay_p95_s": round(delays[int(len(delays) * 0.95) - 1], 2) if delays else None,
        "delay_max_s": round(delays[-1], 2) if delays else None,
        "requests_for_expiries": calls_end - calls_at_first,
        "wakeups": wakeups,
    }


def run_reread(url: str, portals: int, per_portal: int) -> dict[str, Any]:
    """The median time of the re-read over `portals` installed portals."""
    settings = load_settings(database_url=url, secret_key=new_key())
    storage = open_storage(settings)
    try:
        now = datetime.now(UTC)
        with storage.engine.begin() as conn:
            conn.execute(insert(portal_rows), [
                {"member_id": f"m-{p}", "domain": f"m-{p}.example",
                 "client_endpoint": f"https://m-{p}.example/rest/", "state": "installed"}
                for p in range(portals)])
            ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM portals")]
            rows = [{"portal_id": pid, "task_id": t, "snapshot": {}, "bindings": ["D_1"],
                     "deleted": False, "updated_at": now,
                     "overdue_after": now + timedelta(minutes=(pid * 7 + t) % 10_000)}
                    for pid in ids for t in range(per_portal)]
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(task_snapshots), rows[start:start + 10_000])
            if storage.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE task_snapshots")
            else:
                conn.exec_driver_sql("ANALYZE")
        store = SnapshotStore(storage.engine)
        timings = []
        for _ in range(20):
            began = time.perf_counter()
            found = store.next_deadlines(since=now)
            timings.append(time.perf_counter() - began)
        assert len(found) == portals
        return {"portals": portals, "tasks": portals * per_portal,
                "median_ms": round(statistics.median(timings) * 1000, 1)}
    finally:
        storage.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--spread", type=float, default=0.25,
                        help="seconds between the deadlines after the shared one")
    parser.add_argument("--portals", type=int, default=2000)
    parser.add_argument("--per-portal", type=int, default=50)
    parser.add_argument("--pg-url", help="also time the re-read on this PostgreSQL database")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_portal(args, Path(tmp))
        reread = {"sqlite": run_reread(f"sqlite:///{Path(tmp) / 'reread.sqlite3'}",
                                       args.portals, args.per_portal)}
    if args.pg_url:
        reread["postgresql"] = run_reread(args.pg_url, args.portals, args.per_portal)
    result["reread"] = reread
    result["ok"] = bool(result["moves_handled_before_deadline"]
                        and result["requests_between_moves_and_deadline"] == 0
                        and result["expired"] == args.tasks
                        and result["delay_max_s"] is not None
                        and result["delay_max_s"] <= ON_TIME)
    print("| measure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Fleet on PostgreSQL: two gunicorn `web` processes and two `taskbridge worker` processes
on one database, twenty emulated portals behind one OAuth server.

Checks (with the portals' REST limits on, 2 requests/s, burst 50): no write sent twice
(each write-log key's calls matched to what the portals ran, and no timeline entry
twice), per-object order kept, no portal answered 503, the scheduler runs on exactly one
worker and moves to the other when that one is SIGKILLed.

Budget: a few portals get a small bucket (`taskbridge portals set MEMBER rate_burst=5`,
the emulated portal enforcing the same) and far more work than it holds, drained by two
worker processes at once that both hold rows of each such portal: no 503, and in no
sliding window did a portal see more requests than its bucket lets through.

Then, limits off and each REST call taking `--latency` seconds (a portal's round trip; 0
for bare loopback), the same workload drained by one worker and by two: events per
second (goal: two workers >= 1.6x one).

    tests/with_postgres.sh .venv/bin/python -m bench.fleet --json
    .venv/bin/python -m bench.fleet --database-url postgresql://user@host/postgres
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, create_engine, text

from bench.chaos_measures import check_writes, duplicate_timeline_entries
from bench.fleet_budget import budget_check, budget_ok
from connector.storage.token_cipher import new_key
from emulator import Portal
from emulator.oauth_hub import OAuthHub
from emulator.server import RunningServer, serve_in_thread
from tests.support.live_server import serve
from tests.support.stack import CLIENT_ID, CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PORTALS = 20


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            self.popen.wait(timeout=60)


@dataclass
class Fleet:
    workdir: Path
    database_url: str
    env: dict[str, str]
    portals: list[Portal]
    servers: list[RunningServer]
    webs: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, args: list[str], **env: str) -> Process:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(args, env={**self.env, **env}, cwd=self.workdir,
                                     stdout=out, stderr=out)
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def worker(self, name: str, *, scheduler: bool = True, batch_size: int = 200) -> Process:
        args = [str(BIN / "taskbridge"), "worker", "--batch-size", str(batch_size)]
        process = self.start(name, args + ([] if scheduler else ["--no-scheduler"]))
        _wait(lambda: any("started" in line for line in process.lines()), 60,
              f"{name} did not start")
        return process

    def unfinished(self) -> int:
        return self.scalar("SELECT count(*) FROM journal WHERE state IN "
                           "('pending', 'failed', 'processing')")

    @cached_property
    def engine(self) -> Engine:
        return create_engine(self.database_url)

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def rows(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql)))

    def portal_ids(self) -> dict[str, int]:
        return {row.member_id: row.id for row in self.rows("SELECT member_id, id FROM portals")}

    def taskbridge(self, *args: str) -> str:
        """Run a `taskbridge` command against the fleet's database; its output."""
        done = subprocess.run([str(BIN / "taskbridge"), *args], env=self.env, cwd=self.workdir,
                              check=True, capture_output=True, text=True)
        return done.stdout

    def settle(self, timeout: float = 600) -> None:
        def quiet() -> bool:
            return all(p.sender.wait_idle(timeout=0.05) for p in self.portals) \
                and self.unfinished() == 0
        _wait(lambda: quiet() and quiet(), timeout, "the fleet's journal did not settle")


def _wait(check: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        pause.wait(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"fleet_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fleet(server_url: str, workdir: Path, *, portals_count: int = PORTALS, webs: int = 2
          ) -> Iterator[Fleet]:
    """`webs` gunicorn processes on a fresh database, `portals_count` portals installed."""
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_database(server_url))
        portals = [Portal(limits=True) for _ in range(portals_count)]
        servers = [serve_in_thread(p) for p in portals]
        for server in servers:
            stack.callback(server.stop)
        hub = stack.enter_context(serve(OAuthHub(portals)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TASKBRIDGE_")}
        env.update(TASKBRIDGE_DATABASE_URL=database_url, TASKBRIDGE_SECRET_KEY=new_key(),
                   TASKBRIDGE_CLIENT_ID=CLIENT_ID, TASKBRIDGE_CLIENT_SECRET=CLIENT_SECRET,
                   TASKBRIDGE_OAUTH_URL=hub.url, TASKBRIDGE_ALLOW_INSECURE_PORTALS="true",
                   TASKBRIDGE_LOG_FORMAT="text", TASKBRIDGE_LOG_LEVEL="INFO",
                   TASKBRIDGE_WORKER_POLL_INTERVAL="0.1", TASKBRIDGE_OVERDUE_SWEEP_INTERVAL="5")
        running = Fleet(workdir, database_url, env, portals, servers)
        stack.callback(lambda: running.engine.dispose())
        stack.callback(lambda: [p.stop(signal.SIGKILL) for p in running.processes])
        subprocess.run([str(BIN / "taskbridge"), "db", "upgrade"], env=env, cwd=workdir,
                       check=True, capture_output=True)
        for index in range(webs):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            web = running.start(
                f"web{index}",
                [str(BIN / "gunicorn"), "--config", str(ROOT / "config" / "gunicorn.conf.py"),
                 "webhooks.app:create_app()"],
                TASKBRIDGE_BIND=f"127.0.0.1:{port}", TASKBRIDGE_PUBLIC_URL=url,
                TASKBRIDGE_WEB_WORKERS="1", TASKBRIDGE_LOG_LEVEL="WARNING")
            _wait(lambda url=url, web=web: _up(url, web), 60, "gunicorn did not start")
            running.webs.append(url)
        for index, portal in enumerate(portals):
            handler = f"{running.webs[index % webs]}/bitrix/install"
            portal.register_app(CLIENT_ID, CLIENT_SECRET, handler_url=handler)
            portal.install_app(CLIENT_ID, handler_url=handler)
            portal.finish_install(CLIENT_ID)
        yield running


def _up(url: str, web: Process) -> bool:
    assert web.popen.poll() is None, "\n".join(web.lines()[-20:])
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def workload(portals: list[Portal], units: int, tag: str) -> int:
    """Per portal: `units` deals with a task each, then every task started. Returns actions."""
    actions = 0
    for portal in portals:
        manager = portal.add_user(f"Manager {tag}")
        colleague = portal.add_user(f"Colleague {tag}")
        tasks = []
        for i in range(units):
            deal = portal.as_user(manager).create_deal(f"{tag} deal {i}", assigned_by=manager)
            tasks.append(portal.as_user(manager).create_task(
                f"D_{deal}", title=f"{tag} task {i}", responsible=colleague))
            actions += 2
        for task in tasks:
            portal.as_user(colleague).start_task(task)
            actions += 1
    return actions


def correctness(running: Fleet, units: int) -> dict[str, Any]:
    workers = [running.worker("worker-a"), running.worker("worker-b")]
    actions = workload(running.portals, units, "check")
    running.settle()
    rejected = sum(1 for p in running.portals for c in p.call_log.records() if c.status == 503)
    ids = running.portal_ids()
    writes = [check_writes(running.engine, ids[p.member_id], p) for p in running.portals]
    rows = running.rows("SELECT portal_id, object_key, id, state, attempts, finished_at "
                        "FROM journal ORDER BY id")
    by_object: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for row in rows:
        if row.state == "done":
            by_object[(row.portal_id, row.object_key)].append(row)
    out_of_order = sum(1 for seq in by_object.values() for a, b in itertools.pairwise(seq)
                       if b.finished_at < a.finished_at)
    leaders = _leaders(workers)
    leader = workers[leaders[0]] if len(leaders) == 1 else None
    moved = False
    if leader is not None:
        other = workers[1 - leaders[0]]
        seen = len(_scheduler_lines(other))
        leader.stop(signal.SIGKILL)
        _wait(lambda: len(_scheduler_lines(other)) > seen, 60, "the scheduler did not move")
        moved = True
    for worker in workers:
        worker.stop()
    return {
        "portals": len(running.portals), "user_actions": actions,
        "journal_rows": len(rows),
        "processed": sum(1 for r in rows if r.state in ("done", "ignored")),
        "writes_logged": sum(w.logged for w in writes),
        "writes_ran": sum(w.ran for w in writes),
        "writes_sent_twice": sum(w.sent_twice for w in writes),
        "duplicate_writes": sum(duplicate_timeline_entries(p)[1] for p in running.portals),
        "rows_tried_more_than_once": sum(1 for r in rows if r.attempts > 1),
        "out_of_order": out_of_order,
        "portal_503s": rejected,
        "scheduler_leaders": len(leaders),
        "scheduler_moved_on_kill": moved,
    }


def _scheduler_lines(process: Process) -> list[str]:
    return [line for line in process.lines() if "scheduler job" in line]


def _leaders(workers: list[Process]) -> list[int]:
    _wait(lambda: any(_scheduler_lines(w) for w in workers), 30, "no scheduler ran")
    return [i for i, w in enumerate(workers) if _scheduler_lines(w)]


def throughput(running: Fleet, units: int, count: int, tag: str, latency: float
               ) -> dict[str, Any]:
    for portal in running.portals:
        portal.set_limits(enabled=False)
        portal.set_faults(delay=latency)  # the round trip to a portal on the internet
    workload(running.portals, units, tag)
    _wait(lambda: all(p.sender.wait_idle(0.05) for p in running.portals), 300, "delivery")
    waiting = running.unfinished()
    started = datetime.now(UTC)
    workers = [running.worker(f"{tag}-{i}", scheduler=False) for i in range(count)]
    clock = time.monotonic()
    running.settle()
    seconds = time.monotonic() - clock
    processed = running.scalar(
        f"SELECT count(*) FROM journal WHERE finished_at >= '{started.isoformat()}'")
    for worker in workers:
        worker.stop()
    return {"workers": count, "waiting_at_start": waiting, "processed": processed,
            "seconds": round(seconds, 2), "events_per_second": round(processed / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TASKBRIDGE_TEST_PG_URL"),
                        help="a PostgreSQL server URL (a database is created and dropped)")
    parser.add_argument("--units", type=int, default=10, help="deals per portal, checks")
    parser.add_argument("--budget-portals", type=int, default=3,
                        help="portals given a small bucket for the budget check")
    parser.add_argument("--budget-units", type=int, default=12,
                        help="deals per portal, budget check")
    parser.add_argument("--budget-burst", type=int, default=5)
    parser.add_argument("--budget-drain", type=float, default=2.0)
    parser.add_argument("--throughput-units", type=int, default=40,
                        help="deals per portal for each throughput run")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds each REST call takes in the throughput runs (0: loopback)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("no PostgreSQL: run under tests/with_postgres.sh or pass --database-url")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp, \
            fleet(args.database_url, Path(tmp)) as running:
        checks = correctness(running, args.units)
        budget = budget_check(running, portals=args.budget_portals, units=args.budget_units,
                              burst=args.budget_burst, drain=args.budget_drain,
                              workload=workload)
        one = throughput(running, args.throughput_units, 1, "one", args.latency)
        two = throughput(running, args.throughput_units, 2, "two", args.latency)
    speedup = round(two["events_per_second"] / one["events_per_second"], 2)
    ok = (checks["writes_sent_twice"] == 0 and checks["out_of_order"] == 0
          and checks["portal_503s"] == 0 and checks["duplicate_writes"] == 0
          and checks["scheduler_leaders"] == 1 and checks["scheduler_moved_on_kill"]
          and budget_ok(budget))
    result = {"checks": checks, "budget": budget, "latency": args.latency, "one_worker": one,
              "two_workers": two, "speedup": speedup, "speedup_goal": 1.6,
              "ok": ok and speedup >= 1.6}
    for key, value in checks.items():
        print(f"{key:28} {value}")
    for key, value in budget.items():
        if key != "per_portal":
            print(f"budget {key:21} {value}")
    for run in (one, two):
        print(f"{run['workers']} worker(s): {run['processed']} events in {run['seconds']} s "
              f"= {run['events_per_second']} events/s")
    print(f"speedup {speedup}x (goal 1.6x)")
    if args.json:
        print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

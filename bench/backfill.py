"""The backfill at install on a rate-limited portal: the REST requests it spends against
the floor of what must cross the wire, how long it takes, and what it does to a live
event's latency.

The portal (the bundled emulator, limits on: 2 requests/s, bucket 50) already holds
1,000 deals and 3,000 open tasks bound to them when TaskBridge is installed: new, viewed,
in progress, pending review, overdue, some with the `CRM` tag (`--tagged`, the share
that carries it). They are made through the emulator's Python API, which fires no event
before the install and costs no REST request. TaskBridge's web app serves in this
process; its worker runs as `taskbridge worker --no-scheduler` beside it.

The floor is computed from the seeded data: the list pages to read (the open tasks,
then the items they are bound to, 50 rows to a page) and the writes to make (each item's
status, each missing `CRM` tag), 50 to a batch request. The goals (`ok`): requests at
most 1.1x the floor, the whole backfill (install answered to the last item written)
under 120 s, and a live event's latency (event received to the item's field written on
the portal) at most 2 s more during the backfill than without it.

Two runs per case: the cost run has no live events (its requests are the backfill's
alone); the latency run has users start a task every few seconds while the backfill
runs, then, once it is done and the portal's bucket has drained, the same without it.

    .venv/bin/python bench/backfill.py [--json] [--deals 1000] [--tasks 3000]
        [--tagged 0.0] [--probes 3] [--skip-latency]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.burst import deal_field  # noqa: E402
from connector.storage.journal import Journal  # noqa: E402
from connector.storage.token_cipher import new_key  # noqa: E402
from connector.sync.backfill import (  # noqa: E402
    BACKFILL_EVENT,
    CHUNK_EVENT,
    BackfillProgress,
    backfill_progress,
)
from emulator import Portal  # noqa: E402
from tests.support.stack import (  # noqa: E402
    CLIENT_ID,
    CLIENT_SECRET,
    EmulatedPortal,
    TaskBridge,
    emulated_portal,
    taskbridge_for,
)

PAGE = 50  # rows to a list page, commands to a batch
CRM_TAG = "CRM"
GOAL_RATIO, GOAL_SECONDS, GOAL_EXTRA_LATENCY = 1.1, 120.0, 2.0


@dataclass
class Seeded:
    """What the portal holds before the install, and the floor it implies."""

    manager: int
    staff: list[int]
    deals: list[int]
    tasks: dict[int, int]  # task -> deal
    untagged: int

    def floor(self) -> dict[str, int]:
        items = len(set(self.tasks.values()))
        pages = math.ceil(len(self.tasks) / PAGE) + math.ceil(items / PAGE)
        writes = items + self.untagged
        return {"task_pages": math.ceil(len(self.tasks) / PAGE),
                "item_pages": math.ceil(items / PAGE), "read_requests": math.ceil(pages / PAGE),
                "item_writes": items, "tag_writes": self.untagged,
                "write_requests": math.ceil(writes / PAGE),
                "requests": math.ceil(pages / PAGE) + math.ceil(writes / PAGE)}


def seed(portal: Portal, deals: int, tasks: int, tagged: float, rng: random.Random) -> Seeded:
    """Deals and open tasks in every open real status, made through the Python API."""
    manager = portal.add_user("Maria", "Rossi")
    staff = [portal.add_user(f"User{i}", "Staff") for i in range(8)]
    as_manager = portal.as_user(manager)
    deal_ids = [as_manager.create_deal(f"Deal {n}", assigned_by=manager) for n in range(deals)]
    now = datetime.now(UTC)
    bound: dict[int, int] = {}
    untagged = 0
    for n in range(tasks):
        deal = deal_ids[n % len(deal_ids)]
        responsible = rng.choice(staff)
        kind = rng.choices(["new", "viewed", "started", "review", "overdue"],
                           weights=[3, 2, 3, 1, 1])[0]
        deadline = None
        if kind == "overdue":
            deadline = (now - timedelta(hours=rng.randint(1, 200))).isoformat()
        elif rng.random() < 0.3:
            deadline = (now + timedelta(days=rng.randint(1, 30))).isoformat()
        has_tag = rng.random() < tagged
        untagged += not has_tag
        task = as_manager.create_task(f"D_{deal}", title=f"Task {n}", responsible=responsible,
                                      deadline=deadline, task_control=kind == "review",
                                      tags=[CRM_TAG] if has_tag else None)
        as_responsible = portal.as_user(responsible)
        if kind in ("viewed", "started", "review") or (kind == "overdue" and rng.random() < .5):
            as_responsible.open_task(task)
        if kind in ("started", "review"):
            as_responsible.start_task(task)
        if kind == "review":
            as_responsible.complete_task(task)  # controlled: pending review (4), still open
        bound[task] = deal
    return Seeded(manager, staff, deal_ids, bound, untagged)


def task_state(portal: Portal) -> dict[int, tuple[int, float | None, tuple[str, ...]]]:
    """Each task's real status, deadline and tags other than CRM: what must not change."""
    return {t.id: (t.status, t.deadline, tuple(sorted(x for x in t.tags if x != CRM_TAG)))
            for t in portal.state.tasks.values()}


def check(portal: Portal, seeded: Seeded, before: dict[int, Any]) -> dict[str, int]:
    """What the backfill left on the portal: items without a status, tasks changed, tags
    still missing, timeline entries written."""
    after = task_state(portal)
    return {
        "items_without_status": sum(1 for d in set(seeded.tasks.values())
                                    if deal_field(portal, d) is None),
        "tasks_changed": sum(1 for t in seeded.tasks if after.get(t) != before.get(t)),
        "tags_missing": sum(1 for t in seeded.tasks
                            if CRM_TAG not in portal.state.tasks[t].tags),
        "timeline_entries": len(portal.state.timeline),
    }


@contextmanager
def installed_after_seeding(workdir: Path, args: argparse.Namespace, seed_no: int
                            ) -> Iterator[tuple[EmulatedPortal, TaskBridge, Seeded, dict]]:
    """A limited portal seeded before TaskBridge is installed into it."""
    with emulated_portal(limits=True) as portal:
        seeded = seed(portal.emulator, args.deals, args.tasks, args.tagged,
                      random.Random(seed_no))
        before = task_state(portal.emulator)
        url = f"sqlite:///{workdir / 'backfill.sqlite3'}"
        with taskbridge_for(portal, url, new_key(), log_level="WARNING") as bridge:
            yield portal, bridge, seeded, before


def start_worker(bridge: TaskBridge, workdir: Path) -> subprocess.Popen[bytes]:
    """`taskbridge worker` from this tree, on the run's database, as deployed."""
    s = bridge.settings
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "TASKBRIDGE_DATABASE_URL": s.database_url,
           "TASKBRIDGE_SECRET_KEY": s.secret_key.get_secret_value(),
           "TASKBRIDGE_PUBLIC_URL": bridge.url, "TASKBRIDGE_OAUTH_URL": s.oauth_url,
           "TASKBRIDGE_CLIENT_ID": CLIENT_ID, "TASKBRIDGE_CLIENT_SECRET": CLIENT_SECRET,
           "TASKBRIDGE_ALLOW_INSECURE_PORTALS": "true", "TASKBRIDGE_LOG_LEVEL": "WARNING",
           "TASKBRIDGE_WORKER_POLL_INTERVAL": "0.2"}
    log = open(workdir / "worker.log", "ab")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "worker",
         "--no-scheduler"], env=env, cwd=ROOT, stdout=log, stderr=log)


def wait_done(bridge: TaskBridge, timeout: float,
              on_progress: Callable[[BackfillProgress], None] | None = None
              ) -> BackfillProgress | None:
    portal_id = bridge.stored().id
    deadline = time.monotonic() + timeout
    progress = None
    while time.monotonic() < deadline:
        progress = backfill_progress(bridge.storage, portal_id)
        if progress is not None:
            if on_progress:
                on_progress(progress)
            if progress.state in ("done", "failed"):
                return progress
        time.sleep(0.1)
    return progress


def field_within(portal: Portal, deal: int, want: str, timeout: float) -> datetime | None:
    """When the deal's field on the portal first showed `want` (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if deal_field(portal, deal) == want:
            return datetime.now(UTC)
        time.sleep(0.02)
    return None


@dataclass
class Probe:
    """One live event: when TaskBridge received it and when the item showed it."""

    received: datetime | None
    written: datetime | None

    @property
    def seconds(self) -> float | None:
        if self.received is None or self.written is None:
            return None
        return round((self.written - self.received).total_seconds(), 2)


@dataclass(frozen=True)
class Live:
    """A fresh deal whose one task TaskBridge has seen created: ready to be started."""

    deal: int
    task: int
    responsible: int


def prepare_live(portal: Portal, seeded: Seeded, n: int) -> Live:
    """A user makes a deal and a task on it (TaskBridge hears of both)."""
    user = portal.as_user(seeded.manager)
    deal = user.create_deal(f"Live {n}", assigned_by=seeded.manager)
    responsible = seeded.staff[n % len(seeded.staff)]
    task = user.create_task(f"D_{deal}", title=f"Live task {n}", responsible=responsible,
                            tags=[CRM_TAG])
    return Live(deal, task, responsible)


def live_event(portal: Portal, bridge: TaskBridge, live: Live) -> Probe:
    """The responsible starts the task: TaskBridge receiving the ONTASKUPDATE, and the
    deal's field on the portal first saying IN_PROGRESS (None: not within 60 s)."""
    if field_within(portal, live.deal, "CREATED", 60) is None:
        return Probe(None, None)
    portal.as_user(live.responsible).start_task(live.task)
    written = field_within(portal, live.deal, "IN_PROGRESS", 60)
    received = [row["received_at"] for row in Journal(bridge.storage.engine).rows(
        object_key=f"task:{live.task}") if row["event"] == "ONTASKUPDATE"]
    return Probe(min(received) if received else None, written)


def phases(bridge: TaskBridge, final: BackfillProgress | None) -> dict[str, Any]:
    """Where the time went: reading the lists (the backfill's first row), then the chunk
    rows one after another (each ends when the next may start)."""
    journal = Journal(bridge.storage.engine)
    requests = journal.rows(event=BACKFILL_EVENT)
    ends = sorted(row["finished_at"] for row in journal.rows(event=CHUNK_EVENT)
                  if row["finished_at"])
    if not requests or not final or not final.started_at or not requests[-1]["finished_at"]:
        return {}
    lists_done = requests[-1]["finished_at"]
    steps = [(b - a).total_seconds() for a, b in zip([lists_done, *ends], ends, strict=False)]
    return {"lists_read_s": round((lists_done - final.started_at).total_seconds(), 1),
            "chunks": len(ends), "chunks_s": round(sum(steps), 1),
            "slowest_chunk_s": round(max(steps, default=0.0), 1)}


def cost_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with installed_after_seeding(workdir, args, args.seed) as (portal, bridge, seeded, before):
        bridge.install()
        installed_at = time.monotonic()
        calls = portal.emulator.call_log.count()
        worker = start_worker(bridge, workdir)
        try:
            final = wait_done(bridge, args.timeout)
            wall = round(time.monotonic() - installed_at, 1)
            requests = portal.emulator.call_log.count() - calls
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        floor = seeded.floor()
        # The portal's own time answering the list batches: the emulator filters row by
        # row, so part of reading the lists is its time, not TaskBridge's.
        reads = [r for r in portal.emulator.call_log.records() if not r.in_batch and any(
            ".list" in str(cmd) for cmd in (r.params.get("cmd") or {}).values())]
        return {"state": final.state if final else None,
                "error": final.error if final else "no progress within the timeout",
                "requests": requests,
                "requests_counted_by_taskbridge": final.requests_spent if final else None,
                "items_done": final.items_done if final else None,
                "tasks_seen": final.tasks_seen if final else None,
                "floor": floor, "ratio": round(requests / floor["requests"], 3),
                "wall_seconds": wall, "phases": {
                    **phases(bridge, final), "portal_answering_list_batches_s":
                    round(sum(r.duration for r in reads), 1), "list_batches": len(reads)},
                "portal": check(portal.emulator, seeded, before)}


def latency_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Live events while the backfill runs, then the same once it is done and the
    portal's bucket has drained. The deals and tasks they act on are made before the
    worker starts (their creation is live work it does first), so each measured event
    is one start while chunks are being written."""
    with installed_after_seeding(workdir, args, args.seed + 1) as (portal, bridge, seeded, _):
        bridge.install()
        ready = [prepare_live(portal.emulator, seeded, n) for n in range(args.probes)]
        portal.sender.wait_idle(timeout=30)
        worker = start_worker(bridge, workdir)
        during: list[Probe] = []
        probes: list[threading.Thread] = []
        state = {"next": 0.0}

        def probe_while_running(progress: BackfillProgress) -> None:
            if progress.state != "running" or len(probes) == len(ready) or \
                    time.monotonic() < state["next"]:
                return
            live = ready[len(probes)]
            thread = threading.Thread(target=lambda: during.append(
                live_event(portal.emulator, bridge, live)), daemon=True)
            probes.append(thread)
            thread.start()
            state["next"] = time.monotonic() + args.probe_every

        try:
            final = wait_done(bridge, args.timeout, probe_while_running)
            for thread in probes:
                thread.join(timeout=130)
            later = [prepare_live(portal.emulator, seeded, 100 + n) for n in range(args.probes)]
            time.sleep(args.drain_seconds)  # the bucket empties: a portal left alone
            without = [live_event(portal.emulator, bridge, live) for live in later]
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        end = final.finished_at if final else None
        lists_done = [row["finished_at"] for row in
                      Journal(bridge.storage.engine).rows(event=BACKFILL_EVENT)][-1:]

        def phase(probe: Probe) -> str:
            """When TaskBridge received it: while the lists were read, while chunks ran,
            or after the backfill had ended (then it does not count as during)."""
            if probe.received is None or end is None or probe.received >= end:
                return "after"
            return "lists" if lists_done[0] and probe.received < lists_done[0] else "chunks"

        return {"state": final.state if final else None,
                "backfill_seconds": round((end - final.started_at).total_seconds(), 1)
                if final and end and final.started_at else None,
                "during": [{"s": p.seconds, "phase": phase(p)} for p in during],
                "during_s": [p.seconds for p in during if phase(p) != "after"],
                "without_s": [p.seconds for p in without]}


def _worst(samples: list[float | None]) -> float | None:
    if not samples or any(s is None for s in samples):
        return None
    return max(s for s in samples if s is not None)


def run_case(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tb-backfill-") as tmp:
        cost = cost_run(args, Path(tmp))
    latency = None
    if not args.skip_latency:
        with tempfile.TemporaryDirectory(prefix="tb-backfill-live-") as tmp:
            latency = latency_run(args, Path(tmp))
    during, without = (_worst(latency["during_s"]), _worst(latency["without_s"])) \
        if latency else (None, None)
    # the worst event during the backfill against a typical one without it
    extra = round(during - statistics.median(latency["without_s"]), 2) \
        if latency and during is not None and without is not None else None
    goals = {
        "requests_within_1.1x_floor": cost["ratio"] <= GOAL_RATIO,
        "under_120_s": cost["state"] == "done" and cost["wall_seconds"] < GOAL_SECONDS,
        "portal_right": cost["portal"]["items_without_status"] == 0
        and cost["portal"]["tasks_changed"] == 0 and cost["portal"]["tags_missing"] == 0
        # none per task: at most one per item (the bound; TaskBridge writes none)
        and cost["portal"]["timeline_entries"] <= cost["floor"]["item_writes"],
        "live_latency_within_2_s": latency is None or (
            extra is not None and extra <= GOAL_EXTRA_LATENCY),
    }
    return {"tagged_share": args.tagged, "cost": cost, "latency": latency,
            "latency_worst_during_s": during, "latency_worst_without_s": without,
            "latency_extra_s": extra, "goals": goals, "ok": all(goals.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=3000, help="open tasks, spread over deals")
    parser.add_argument("--tagged", type=float, default=0.0,
                        help="share of tasks that already carry the CRM tag (0..1)")
    parser.add_argument("--both", action="store_true",
                        help="run with no task tagged and with every task tagged")
    parser.add_argument("--probes", type=int, default=3, help="live events during, and without")
    parser.add_argument("--probe-every", type=float, default=2.5,
                        help="seconds between live events during the backfill")
    parser.add_argument("--drain-seconds", type=float, default=25.0,
                        help="wait after the backfill before the baseline (bucket 50 at 2/s)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # TaskBridge's own last writes echo back as events after its web app has stopped.
    logging.getLogger("emulator.delivery").setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log
    shares = [0.0, 1.0] if args.both else [args.tagged]
    cases = [run_case(argparse.Namespace(**{**vars(args), "tagged": share}))
             for share in shares]
    print(f"{'tagged':>6} {'state':>6} {'requests':>9} {'floor':>6} {'ratio':>6} "
          f"{'wall s':>7} {'live during s':>14} {'without s':>10} {'ok':>4}")
    for case in cases:
        cost = case["cost"]
        print(f"{case['tagged_share']:>6} {cost['state']!s:>6} {cost['requests']:>9} "
              f"{cost['floor']['requests']:>6} {cost['ratio']:>6} {cost['wall_seconds']:>7} "
              f"{case['latency_worst_during_s']!s:>14} {case['latency_worst_without_s']!s:>10} "
              f"{case['ok']!s:>4}")
    report = {"benchmark": "backfill", "deals": args.deals, "tasks": args.tasks,
              "limits": {"drain_per_s": 2.0, "bucket": 50}, "cases": cases,
              "ok": all(case["ok"] for case in cases)}
    if args.json:
        print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()

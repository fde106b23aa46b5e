"""Chaos suite: does every event TaskBridge answered 200 end up applied, once, whatever fails?

Four cases, each a scripted run of user actions (see `bench/chaos_workload.py`) against
the emulated portal, with TaskBridge's web app in this process and real `taskbridge
worker` processes:

- crash: the worker is SIGKILLed at random moments and restarted (10 times at full size);
- faults: 20% of REST calls answer 500/503 or drop the connection, some are held past
  the client's timeout (before or after they run);
- tokens: access tokens live 30 s and are expired on a timer, two worker processes;
- lost: 30% of online events are never delivered; the workers' scheduler (its offline
  catch-up and reconcile) must heal it.

The workers run as deployed, scheduler included, with its clocks shortened through the
settings (`bench/chaos_stack.py`); nothing here puts rows back or calls a job. For each
case: events answered 200, processed, dead (with reasons), lost (must be 0), duplicate
portal writes (must be 0), and units whose task or deal is not in the state the oracle
expects (must be 0); `bench/chaos_measures.py` says how each is matched.

    .venv/bin/python -m bench.chaos                   # 5,000 changes per case
    .venv/bin/python -m bench.chaos --scale 0.05 --cases crash,lost --json
    .venv/bin/python -m bench.chaos --database-url postgresql://...   (an empty database)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chaos_stack import (
    Measures,
    WorkerProcess,
    measure,
    offline_waiting,
    processing,
    scheduler_ran,
    settle,
    start_portal,
    stop_quietly,
    worker_env,
)
from bench.chaos_workload import (
    PHASES,
    People,
    Unit,
    mismatches,
    phase_actions,
    total_changes,
    units_for,
)
from connector.storage.token_cipher import new_key
from emulator.lossy_delivery import lose_deliveries
from tests.support.stack import TaskBridge, taskbridge_for

FULL_CHANGES = 5000
KILL_PATIENCE = 3.0  # seconds a due kill waits for the worker to hold rows


@dataclass(frozen=True)
class Case:
    name: str
    workers: int = 1
    kills: int = 0
    faults: dict[str, float] = field(default_factory=dict)
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    http_timeout: float = 10.0
    token_lifetime: int = 3600
    expire_every: float = 0.0
    lost_rate: float = 0.0
    heal: bool = False


CASES = {
    "crash": Case("crash", kills=10),
    "faults": Case("faults", faults={"error_500_rate": 0.08, "error_503_rate": 0.08,
                                     "drop_rate": 0.04},
                   slow_rate=0.02, slow_seconds=2.5, http_timeout=2.0),
    "tokens": Case("tokens", workers=2, token_lifetime=30, expire_every=30.0),
    "lost": Case("lost", lost_rate=0.30, heal=True),
}


@dataclass
class CaseResult:
    case: str
    changes: int
    units: int
    seconds: float
    measures: Measures
    oracle_mismatches: list[str]
    extra: dict[str, Any]

    @property
    def ok(self) -> bool:
        return (self.measures.lost == 0 and self.measures.duplicate_writes == 0
                and not self.oracle_mismatches)

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case, "changes": self.changes, "units": self.units,
                "seconds": round(self.seconds, 1), **self.measures.as_dict(),
                "oracle_ok": f"{self.units - len(self.oracle_mismatches)}/{self.units}",
                "oracle_mismatches": self.oracle_mismatches[:10], **self.extra,
                "ok": self.ok}


class Chaos:
    """What a case does to the running system while it settles."""

    def __init__(self, case: Case, bridge: TaskBridge, workers: list[WorkerProcess],
                 rng: random.Random, kills: int) -> None:
        self.case, self.bridge, self.workers, self.rng = case, bridge, workers, rng
        self.kills_left = kills
        self.kills_done = 0
        self.kills_mid_pass = 0
        self.orphaned_rows = 0
        self.expiries = 0
        self.next_kill = time.monotonic() + rng.uniform(0.2, 1.0)
        self.next_expiry = time.monotonic() + case.expire_every

    def tick(self) -> None:
        now = time.monotonic()
        # A kill comes at a random moment, preferably one when the worker holds rows.
        if self.kills_left and now >= self.next_kill and (
                processing(self.bridge) > 0 or now >= self.next_kill + KILL_PATIENCE):
            self._kill_and_restart(self.workers[0])
            self.next_kill = now + self.rng.uniform(0.2, 1.5)
        if self.case.expire_every and now >= self.next_expiry:
            self.bridge.portal.emulator.expire_tokens()
            self.expiries += 1
            self.next_expiry = now + self.case.expire_every

    def _kill_and_restart(self, worker: WorkerProcess) -> None:
        # Its rows stay `processing` until a worker's stale sweep takes them back.
        worker.kill()
        left = processing(self.bridge)
        self.orphaned_rows += left
        self.kills_mid_pass += left > 0
        worker.start()
        self.kills_left -= 1
        self.kills_done += 1


def run_case(case: Case, *, changes: int = FULL_CHANGES, seed: int = 7,
             database_url: str | None = None, kills: int | None = None,
             workdir: Path | None = None, settle_timeout: float | None = None) -> CaseResult:
    """Run one case end to end and measure it."""
    with tempfile.TemporaryDirectory(prefix=f"chaos-{case.name}-") as tmp:
        root = workdir or Path(tmp)
        return _run(case, changes, seed, database_url or f"sqlite:///{root / 'chaos.sqlite3'}",
                    case.kills if kills is None else kills, root,
                    settle_timeout or max(120.0, changes * 0.2))


def _run(case: Case, changes: int, seed: int, database_url: str, kills: int, root: Path,
         settle_timeout: float) -> CaseResult:
    rng = random.Random(seed)
    started = time.monotonic()
    portal = start_portal(token_lifetime=case.token_lifetime, slow_rate=case.slow_rate,
                          slow_seconds=case.slow_seconds, seed=seed)
    try:
        # The web app makes no REST call on events; the workers get the case's timeout.
        with taskbridge_for(portal, database_url, new_key(), log_level="WARNING") as bridge:
            bridge.install("page")
            people = People(manager=portal.add_user("Maria", "Rossi"),
                            colleague=portal.add_user("Luca", "Bianchi"))
            env = worker_env(bridge, http_timeout=case.http_timeout)
            workers = [WorkerProcess(env, root, f"worker{i}") for i in range(case.workers)]
            for worker in workers:
                worker.start()
            chaos = Chaos(case, bridge, workers, rng, kills)
            units = units_for(changes)
            lost = None
            try:
                if case.faults:
                    portal.set_faults(seed=seed, **case.faults)
                if case.lost_rate:
                    lost = lose_deliveries(portal.emulator, case.lost_rate, seed=seed)
                for phase in range(1, PHASES + 1):
                    for action in phase_actions(units, phase, portal.emulator, people):
                        action()
                        chaos.tick()
                    _settle_phase(case, bridge, chaos, settle_timeout, last=phase == PHASES)
                while chaos.kills_left:  # kills the workload outlived: at idle moments
                    chaos.tick()
                    settle(bridge, timeout=settle_timeout, tick=chaos.tick)
                portal.set_faults()
                exits, stops = stop_quietly(bridge, workers, timeout=settle_timeout)
            finally:
                if lost is not None:
                    lost.stop()
                for worker in workers:
                    if worker.alive:
                        worker.kill()
            return _result(case, bridge, units, started, chaos, exits, lost, stops)
    finally:
        portal.server.stop()


def _settle_phase(case: Case, bridge: TaskBridge, chaos: Chaos, timeout: float, *,
                  last: bool) -> None:
    if not case.heal:
        settle(bridge, timeout=timeout, tick=chaos.tick)
        return
    # What was never delivered waits in the portal's offline queue until the scheduler's
    # catch-up drains it; after the last phase, also for a reconcile pass begun after it.
    acted = datetime.now(UTC)

    def drained() -> bool:
        return offline_waiting(bridge) == 0

    settle(bridge, timeout=timeout, tick=chaos.tick, also=drained)
    if last:
        settle(bridge, timeout=timeout, tick=chaos.tick,
               also=lambda: scheduler_ran(bridge, "reconcile", since=acted) and drained())


def _result(case: Case, bridge: TaskBridge, units: list[Unit], started: float, chaos: Chaos,
            exits: list[int], lost: Any, stops: int) -> CaseResult:
    measures = measure(bridge)
    wrong = mismatches(units, bridge.portal.emulator, bridge.task_status)
    extra: dict[str, Any] = {"worker_processes": case.workers, "worker_exit_codes": exits,
                             "stops_until_quiet": stops}
    if case.kills or chaos.kills_done:
        extra.update(kills=chaos.kills_done, kills_mid_pass=chaos.kills_mid_pass,
                     rows_left_processing_by_kills=chaos.orphaned_rows)
    if case.expire_every:
        extra["token_expiries"] = chaos.expiries
    if case.faults:
        extra["faults_injected"] = dict(bridge.portal.emulator.injected_faults)
        slow = bridge.portal.emulator.wsgi_app
        extra["calls_held_past_timeout"] = getattr(slow, "held_before", 0) + getattr(
            slow, "held_after", 0)
    if lost is not None:
        extra["deliveries_lost"] = len(lost.lost)
    return CaseResult(case.name, total_changes(units), len(units),
                      time.monotonic() - started, measures, wrong, extra)


def scaled(case: Case, scale: float) -> Case:
    """A shorter run keeps every kind of trouble: tokens expire as often, relatively."""
    if case.expire_every and scale < 1:
        return dataclasses.replace(case, expire_every=max(1.0, case.expire_every * scale))
    return case


COLUMNS = ("case", "changes", "answered_200", "processed", "dead", "lost", "duplicate_writes",
           "writes_sent_twice",
           "oracle_ok", "seconds")


def table(rows: list[dict[str, Any]]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    for row in rows:
        if row["dead_reasons"]:
            lines.append(f"{row['case']} dead: {row['dead_reasons']}")
        if row["oracle_mismatches"]:
            lines.append(f"{row['case']} oracle: {row['oracle_mismatches'][:3]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None, run: Callable[..., CaseResult] = run_case) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="share of the full run (5,000 changes, 10 kills)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    rows = []
    for name in args.cases.split(","):
        case = scaled(CASES[name], args.scale)
        kills = max(2, round(case.kills * args.scale)) if case.kills else 0
        result = run(case, changes=max(20, round(FULL_CHANGES * args.scale)), seed=args.seed,
                     database_url=args.database_url, kills=kills)
        rows.append(result.as_dict())
        if not args.json:
            print(f"{name}: done in {result.seconds:.1f} s", flush=True)
    print(table(rows))
    ok = all(row["ok"] for row in rows)
    if args.json:
        print(json.dumps({"scale": args.scale, "cases": rows, "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The fleet's budget check: portals with a small REST bucket, driven far past it by two
worker processes at once, must never answer 503 nor see more requests than the bucket
lets through in any window.

A portal's bucket is set the way an operator sets it (`taskbridge portals set MEMBER
rate_burst=N rate_drain=R`), and the emulated portal enforces the same bucket. The
requests each portal saw come from its call log; in any window of W seconds a leaky
bucket of `burst` draining `drain` a second lets through at most burst + drain * W.
Which worker held which portal's rows is sampled from the journal while they work, so
the check shows that both processes called the same portal at the same time.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, create_engine, text

from emulator import Portal

WINDOWS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
WORKERS = 2
BATCH_SIZE = 4  # small claims, so both workers hold rows of the same portal


class FleetLike(Protocol):
    database_url: str
    portals: list[Portal]

    def taskbridge(self, *args: str) -> str: ...
    def worker(self, name: str, *, scheduler: bool = True, batch_size: int = 200) -> Any: ...
    def settle(self, timeout: float = 600) -> None: ...
    def portal_ids(self) -> dict[str, int]: ...


def most_in_window(times: list[float], seconds: float) -> int:
    """The most timestamps that fall in any window [t, t + seconds]."""
    ordered = sorted(times)
    return max((bisect.bisect_right(ordered, start + seconds) - i
                for i, start in enumerate(ordered)), default=0)


def window_report(times: list[float], burst: int, drain: float) -> dict[str, Any]:
    """Per window length: the most requests seen, what the bucket allows, and the excess."""
    seen = {w: most_in_window(times, w) for w in WINDOWS}
    allowed = {w: burst + drain * w for w in WINDOWS}
    return {"requests": len(times),
            "seconds": round(max(times) - min(times), 1) if times else 0.0,
            "most_in_window": {f"{w:g}s": seen[w] for w in WINDOWS},
            "allowed": {f"{w:g}s": allowed[w] for w in WINDOWS},
            "over": max(seen[w] - allowed[w] for w in WINDOWS)}


@dataclass
class HolderWatch:
    """Samples, while it runs, which workers hold rows of which portal."""

    database_url: str
    interval: float = 0.05
    held_by: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    held_together: set[int] = field(default_factory=set)  # portals held by two at once
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HolderWatch:
        engine = create_engine(self.database_url)
        self._thread = threading.Thread(target=self._run, args=(engine,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, engine: Engine) -> None:
        try:
            while not self._stop.wait(self.interval):
                with engine.connect() as conn:
                    rows = conn.execute(text(
                        "SELECT DISTINCT portal_id, locked_by FROM journal "
                        "WHERE state = 'processing' AND locked_by IS NOT NULL")).all()
                now: dict[int, set[str]] = defaultdict(set)
                for row in rows:
                    now[row.portal_id].add(row.locked_by)
                for portal_id, holders in now.items():
                    self.held_by[portal_id] |= holders
                    if len(holders) > 1:
                        self.held_together.add(portal_id)
        finally:
            engine.dispose()


def budget_check(running: FleetLike, *, portals: int, units: int, burst: int,
                 drain: float, workload: Any) -> dict[str, Any]:
    """Give `portals` portals a bucket of `burst` draining `drain`/s, drive them with
    `workload(portals, units, tag)` under two workers, and report what each portal saw."""
    chosen = running.portals[:portals]
    for portal in chosen:
        running.taskbridge("portals", "set", portal.member_id, f"rate_burst={burst}",
                           f"rate_drain={drain:g}")
        portal.set_limits(enabled=True, capacity=float(burst), drain_rate=drain)
    since = time.time()
    ids = running.portal_ids()
    workers = [running.worker(f"budget-{i}", scheduler=False, batch_size=BATCH_SIZE)
               for i in range(WORKERS)]
    with HolderWatch(running.database_url) as watch:
        actions = workload(chosen, units, "budget")
        running.settle()
    for worker in workers:
        worker.stop()
    reports = {}
    for portal in chosen:
        # One record per HTTP request that reached the portal (batched commands are
        # inside theirs); a request refused by the bucket is logged too, as 503.
        calls = [c for c in portal.call_log.records() if not c.in_batch and c.started >= since]
        report = window_report([c.started for c in calls], burst, drain)
        report["503s"] = sum(1 for c in calls if c.status == 503)
        report["workers_holding_its_rows"] = len(watch.held_by.get(ids[portal.member_id], ()))
        report["held_by_two_at_once"] = ids[portal.member_id] in watch.held_together
        reports[portal.member_id] = report
    return {
        "portals": len(chosen), "burst": burst, "drain": drain, "user_actions": actions,
        "worker_processes": WORKERS, "batch_size": BATCH_SIZE,
        "requests_per_portal": [r["requests"] for r in reports.values()],
        "portal_503s": sum(r["503s"] for r in reports.values()),
        "most_over_the_bucket": max(r["over"] for r in reports.values()),
        "portals_held_by_two_at_once": sum(r["held_by_two_at_once"] for r in reports.values()),
        "per_portal": reports,
    }


def budget_ok(result: dict[str, Any]) -> bool:
    """No 503, never over the bucket, far past the burst, and both workers on every portal."""
    return (result["portal_503s"] == 0 and result["most_over_the_bucket"] <= 0
            and min(result["requests_per_portal"]) >= 3 * result["burst"]
            and result["portals_held_by_two_at_once"] == result["portals"])

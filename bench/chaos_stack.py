"""The moving parts of the chaos suite: an emulated portal, TaskBridge's web app in this
process, `taskbridge worker` processes beside it, and the measures taken afterwards.

The web app serves in a thread (werkzeug) on the run's database; the workers are real
`taskbridge worker` processes on the same database, so they can be SIGKILLed. They run
as deployed, scheduler included: the bench never repairs what a failure left behind.
A killed worker's rows come back through the workers' own stale sweep, and what was
never delivered through the scheduler's offline catch-up and reconcile. Only their
clocks are shortened, through the settings a deployment would set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.chaos_measures import UNFINISHED, Measures
from bench.chaos_measures import measure as measure_portal
from connector.storage.schema import journal, scheduler_runs
from emulator import Portal
from emulator.server import serve_in_thread
from emulator.slow_calls import SlowCalls
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, EmulatedPortal, TaskBridge

# The shortest the settings allow: a dead worker's rows are taken back once no heartbeat
# came for STALE_SECONDS (and the sweep looks every 30 s); reconcile runs every
# RECONCILE_SECONDS and the offline catch-up every third of that.
STALE_SECONDS = 10
RECONCILE_SECONDS = 30
OVERDUE_SWEEP_SECONDS = 5
# The jobs that queue rows, which a worker's scheduler runs as it starts.
STARTUP_JOBS = ("offline_catch_up", "reconcile", "overdue_sweep")


class SettleTimeout(AssertionError):
    """The journal did not settle in time: events are still waiting."""


def start_portal(*, token_lifetime: int = 3600, slow_rate: float = 0.0,
                 slow_seconds: float = 0.0, seed: int = 0) -> EmulatedPortal:
    portal = Portal(limits=False, access_token_lifetime=token_lifetime)
    if slow_rate:
        portal.wsgi_app = SlowCalls(portal.wsgi_app, rate=slow_rate, seconds=slow_seconds,
                                    seed=seed)
    count_faults(portal)
    return EmulatedPortal(emulator=portal, server=serve_in_thread(portal))


def count_faults(portal: Portal) -> Counter[str]:
    """Count the faults the portal injects (they never reach its call log)."""
    counts: Counter[str] = Counter()
    pick = portal.faults.pick

    def counted(method: str, path_and_query: str) -> Any:
        fault = pick(method, path_and_query)
        if fault is not None:
            counts[fault.kind] += 1
        return fault

    portal.faults.pick = counted  # type: ignore[method-assign]
    portal.injected_faults = counts  # type: ignore[attr-defined]
    return counts


@dataclass
class WorkerProcess:
    """One `taskbridge worker` process, its stderr kept in a file."""

    env: dict[str, str]
    workdir: Path
    name: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"{self.name}.{self.starts}.log", "wb")  # noqa: SIM115
        script = Path(sys.executable).with_name("taskbridge")
        self.process = subprocess.Popen(
            [str(script), "worker"], env=self.env, cwd=self.workdir,
            stdout=subprocess.DEVNULL, stderr=log,
        )
        log.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def worker_env(bridge: TaskBridge, *, http_timeout: float) -> dict[str, str]:
    settings = bridge.settings
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("TASKBRIDGE_")}
    env.update({
        "TASKBRIDGE_DATABASE_URL": settings.database_url,
        "TASKBRIDGE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "TASKBRIDGE_CLIENT_ID": CLIENT_ID,
        "TASKBRIDGE_CLIENT_SECRET": CLIENT_SECRET,
        "TASKBRIDGE_OAUTH_URL": settings.oauth_url,
        "TASKBRIDGE_PUBLIC_URL": bridge.url,
        "TASKBRIDGE_ALLOW_INSECURE_PORTALS": "true",
        "TASKBRIDGE_HTTP_TIMEOUT": str(http_timeout),
        "TASKBRIDGE_WORKER_POLL_INTERVAL": "0.1",
        "TASKBRIDGE_WORKER_STALE_SECONDS": str(STALE_SECONDS),
        "TASKBRIDGE_RECONCILE_INTERVAL": str(RECONCILE_SECONDS),
        "TASKBRIDGE_OVERDUE_SWEEP_INTERVAL": str(OVERDUE_SWEEP_SECONDS),
        "TASKBRIDGE_LOG_LEVEL": "WARNING",
        "TASKBRIDGE_LOG_FORMAT": "text",
    })
    return env


def unfinished(bridge: TaskBridge) -> int:
    with bridge.storage.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(journal).where(journal.c.state.in_(UNFINISHED))
        ).scalar_one()


def processing(bridge: TaskBridge) -> int:
    """Rows a worker holds (or held when it died)."""
    with bridge.storage.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(journal).where(journal.c.state == "processing")
        ).scalar_one()


def offline_waiting(bridge: TaskBridge) -> int:
    """Records the portal's offline queue holds for TaskBridge (the catch-up drains it)."""
    state = bridge.portal.emulator.state
    with state.lock:
        return sum(1 for r in state.offline_events.values() if r.client_id == CLIENT_ID)


def scheduler_ran(bridge: TaskBridge, job: str, *, since: datetime) -> bool:
    """Whether a worker's scheduler ran `job` (successfully) after `since` began."""
    with bridge.storage.engine.connect() as conn:
        started = conn.execute(
            select(func.max(scheduler_runs.c.started_at)).where(
                scheduler_runs.c.job == job, scheduler_runs.c.outcome == "ok")
        ).scalar()
    if started is None:
        return False
    return (started if started.tzinfo else started.replace(tzinfo=since.tzinfo)) > since


def settle(bridge: TaskBridge, *, timeout: float, tick: Callable[[], None] | None = None,
           also: Callable[[], bool] | None = None) -> None:
    """Wait until every event was delivered and every journal row finished (and `also`)."""
    sender = bridge.portal.emulator.sender

    def quiet() -> bool:
        return sender.wait_idle(timeout=0.05) and unfinished(bridge) == 0 \
            and (also is None or also())

    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        if tick is not None:
            tick()
        if quiet() and quiet():
            return
        if time.monotonic() > deadline:
            raise SettleTimeout(f"{unfinished(bridge)} journal rows still unfinished, "
                                f"{offline_waiting(bridge)} offline records waiting "
                                f"after {timeout:.0f} s")
        pause.wait(0.05)


def stop_quietly(bridge: TaskBridge, workers: list[WorkerProcess], *, timeout: float,
                 tries: int = 5) -> tuple[list[int], int]:
    """SIGTERM the workers at a quiet moment; their exit codes and the stops it took.

    A scheduler job may queue rows (or a write fire events) just after the journal
    settled; a worker stopped then leaves them waiting. The workers then run on, and
    are stopped again once a stop finds nothing waiting. A worker's scheduler runs
    every job once as it starts, so a restart first lets those runs end.
    """
    exits: list[int] = []
    for attempt in range(1, tries + 1):
        settle(bridge, timeout=timeout)
        exits = [worker.stop() for worker in workers]
        if bridge.portal.emulator.sender.wait_idle(timeout=0.5) and unfinished(bridge) == 0:
            return exits, attempt
        restarted = datetime.now(UTC)
        for worker in workers:
            worker.start()
        settle(bridge, timeout=timeout, also=lambda since=restarted: all(
            scheduler_ran(bridge, job, since=since) for job in STARTUP_JOBS))
    return exits, tries


def measure(bridge: TaskBridge) -> Measures:
    """Deliveries, journal rows and portal writes, counted after the run settled."""
    return measure_portal(bridge.storage.engine, bridge.portal.emulator, bridge.stored().id,
                          f"{bridge.url}/bitrix/events", bridge.journal.rows())

"""The moving parts of the chaos suite: an emulated portal, TaskBridge's web app in this
process, `taskbridge worker` processes beside it, and the measures taken afterwards.

The web app serves in a thread (werkzeug) on the run's database; the workers are real
`taskbridge worker` processes on the same database, so they can be SIGKILLed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from connector.journal import Journal
from connector.schema import journal
from emulator import Portal
from emulator.server import serve_in_thread
from emulator.slow_calls import SlowCalls
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, EmulatedPortal, TaskBridge

UNFINISHED = ("pending", "failed", "processing")
MARKER = re.compile(r"\[([0-9a-f]{12})\]")


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
            [str(script), "worker", "--no-scheduler"], env=self.env, cwd=self.workdir,
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
        "TASKBRIDGE_LOG_LEVEL": "WARNING",
        "TASKBRIDGE_LOG_FORMAT": "text",
    })
    return env


def unfinished(bridge: TaskBridge) -> int:
    with bridge.storage.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(journal).where(journal.c.state.in_(UNFINISHED))
        ).scalar_one()


def release_orphans(bridge: TaskBridge) -> int:
    """What the stale-lock sweep does once `STALE_AFTER` has passed: no worker is alive."""
    return Journal(bridge.storage.engine).release_stale(older_than=timedelta(0))


def settle(bridge: TaskBridge, *, timeout: float, tick: Callable[[], None] | None = None
           ) -> None:
    """Wait until every event was delivered and every journal row finished."""
    sender = bridge.portal.emulator.sender
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        if tick is not None:
            tick()
        if sender.wait_idle(timeout=0.05) and unfinished(bridge) == 0 \
                and sender.wait_idle(timeout=0.05) and unfinished(bridge) == 0:
            return
        if time.monotonic() > deadline:
            raise SettleTimeout(f"{unfinished(bridge)} journal rows still unfinished "
                                f"after {timeout:.0f} s")
        pause.wait(0.05)


@dataclass
class Measures:
    answered_200: int = 0
    refused: int = 0
    never_delivered: int = 0
    journaled_online: int = 0
    journaled_offline: int = 0
    processed: int = 0
    duplicates: int = 0
    dead: int = 0
    dead_reasons: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicate_writes: int = 0
    timeline_entries: int = 0
    rest_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def measure(bridge: TaskBridge) -> Measures:
    """Deliveries, journal rows and portal writes, counted after the run settled."""
    emulator = bridge.portal.emulator
    events_url = f"{bridge.url}/bitrix/events"
    deliveries = [d for d in emulator.delivered_events if d.handler == events_url]
    result = Measures()
    result.answered_200 = sum(1 for d in deliveries if d.status == 200)
    result.refused = sum(1 for d in deliveries if d.status is not None and d.status != 200)
    result.never_delivered = sum(1 for d in deliveries if d.status is None)
    rows = bridge.journal.rows()
    states = Counter(row["state"] for row in rows)
    result.journaled_online = sum(1 for row in rows if row["source"] == "online")
    result.journaled_offline = sum(1 for row in rows if row["source"] == "offline")
    result.processed = states["done"] + states["ignored"]
    result.duplicates = states["duplicate"]
    result.dead = states["dead"]
    result.dead_reasons = dict(Counter(
        str(row["error"] or "")[:120] for row in rows if row["state"] == "dead"))
    # Answered 200 but not journaled, or journaled and never finished: lost.
    result.lost = max(0, result.answered_200 - result.journaled_online) + sum(
        states[state] for state in UNFINISHED)
    markers = Counter(
        marker for entry in list(emulator.state.timeline.values())
        for marker in MARKER.findall(entry.text)
    )
    result.timeline_entries = len(emulator.state.timeline)
    result.duplicate_writes = sum(count - 1 for count in markers.values() if count > 1)
    result.rest_calls = emulator.call_log.count()
    return result

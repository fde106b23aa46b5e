"""Backfill at install: a portal that already holds deals and leads with open tasks gets
every item's status from the first minute, without a task being changed or a timeline
entry written, for about the REST floor; a worker process killed half-way (the portal ran
its writes, it never heard back) resumes without writing anything twice; an item closed
before the install is never closed again."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from connector.sync.backfill import backfill_progress
from tests.scenarios.conftest import People
from tests.scenarios.portal_view import AdminView
from tests.support.stack import EmulatedPortal, TaskBridge

BATCH = 50


@dataclass
class Seeded:
    """What the portal held before TaskBridge came: each item and the status it must show
    ("" for items closed before the install), and every open bound task."""

    expected: dict[tuple[str, int], str] = field(default_factory=dict)
    tasks: set[int] = field(default_factory=set)

    @property
    def open_items(self) -> list[tuple[str, int]]:
        return [item for item, status in self.expected.items() if status]


def seed(portal: EmulatedPortal, people: People, items: int) -> Seeded:
    """`items` deals and leads (3 deals to 2 leads), each with an open task in one of the
    real statuses 1, 2, 3, 4, 6 or past its deadline; some tasks carry other tags or the
    CRM tag already, some items were closed before; one task is bound to two items, and one
    deal's most recently changed task is the one created first."""
    manager, colleague = portal.as_user(people.manager), portal.as_user(people.colleague)
    seeded = Seeded()
    past = portal.emulator.clock.iso(portal.emulator.clock.now() - 2 * 86400)
    for n in range(items):
        kind = "lead" if n % 5 in (1, 3) else "deal"
        if kind == "deal":
            item = manager.create_deal(f"Deal {n}", assigned_by=people.manager,
                                       stage_id="WON" if n % 20 == 0 else None)
        else:
            item = manager.create_lead(f"Lead {n}", assigned_by=people.manager)
        code = f"{'D' if kind == 'deal' else 'L'}_{item}"
        tags = ["urgent"] if n % 7 == 0 else ["CRM", "key"] if n % 11 == 0 else None
        flavour = n % 6
        task = manager.create_task(code, title=f"Task {n}", responsible=people.colleague,
                                   task_control=flavour == 3, tags=tags,
                                   deadline=past if flavour == 5 else None)
        status = "CREATED"
        if flavour == 1:
            manager.update_task(task, STATUS=1)  # "new", as tasks made long ago are
        elif flavour == 2:
            colleague.start_task(task)
            status = "IN_PROGRESS"
        elif flavour == 3:
            colleague.complete_task(task)  # under control: waits for the creator (4)
            status = "CONTROL_WAITING"
        elif flavour == 4:
            colleague.defer_task(task)
        elif flavour == 5:
            status = "EXPIRED"
        seeded.tasks.add(task)
        seeded.expected[(kind, item)] = "" if n % 20 == 0 else status
    deal = next(item for item in seeded.open_items if item[0] == "deal")
    lead = next(item for item in seeded.open_items if item[0] == "lead")
    portal.advance_time(60)
    shared = manager.create_task([f"D_{deal[1]}", f"L_{lead[1]}"], title="Shared",
                                 responsible=people.colleague)
    later = manager.create_task(f"D_{deal[1]}", title="Created later, untouched since",
                                responsible=people.colleague)
    portal.advance_time(60)
    colleague.start_task(shared)  # changed last, though listed before `later`
    seeded.tasks |= {shared, later}
    seeded.expected[deal] = seeded.expected[lead] = "IN_PROGRESS"
    assert portal.sender.wait_idle(timeout=10)
    return seeded


def task_facts(portal: EmulatedPortal) -> dict[int, tuple[int, object, frozenset[str]]]:
    """Each task's real status, deadline and tags other than CRM, as the portal holds them."""
    return {task.id: (task.status, task.deadline, frozenset(task.tags) - {"CRM"})
            for task in portal.emulator.state.tasks.values()}


def writes_by_object(portal: EmulatedPortal) -> Counter[tuple[str, str]]:
    """Every item and task update the portal ran, batched or not, by method and object."""
    return Counter(
        (record.method, str(record.params.get("id") or record.params.get("taskId")))
        for record in portal.emulator.call_log.records()
        if record.method in ("crm.deal.update", "crm.lead.update", "tasks.task.update"))


def floor_of(seeded: Seeded, untagged: int) -> int:
    """What must cross the wire: the list pages (open bound tasks, their deals, their
    leads) and the writes (each open item's status, each missing CRM tag), 50 to a batch."""
    kinds = Counter(kind for kind, _ in seeded.expected)
    pages = math.ceil(len(seeded.tasks) / BATCH) + sum(
        math.ceil(count / BATCH) for count in kinds.values())
    return math.ceil((pages + len(seeded.open_items) + untagged) / BATCH)


def test_every_item_shows_its_status_from_the_first_minute(
        taskbridge: TaskBridge, people: People, on_portal: AdminView) -> None:
    portal = taskbridge.portal
    seeded = seed(portal, people, 200)
    before = task_facts(portal)
    untagged = sum("CRM" not in portal.emulator.state.tasks[t].tags for t in seeded.tasks)
    installed = taskbridge.install("page")
    calls = taskbridge.drain()

    progress = backfill_progress(taskbridge.storage, installed.id)
    assert progress is not None and progress.state == "done", progress
    assert progress.items_done == progress.items_total == len(seeded.expected)
    assert progress.tasks_seen == len(seeded.tasks)
    # The floor, one request each for the first page's count and the items' read, and at
    # most one batch per chunk that the chunk's own writes do not fill.
    chunks = math.ceil(len(seeded.expected) / BATCH)
    assert progress.requests_spent <= floor_of(seeded, untagged) + 2 + chunks, progress
    assert calls == progress.requests_spent  # the writes' echoes cost nothing

    shown = {item: on_portal.status(*item) for item in seeded.expected}
    assert shown == seeded.expected
    after = task_facts(portal)
    assert after == before  # no status, deadline or other tag changed
    assert all("CRM" in portal.emulator.state.tasks[t].tags for t in seeded.tasks)
    assert not portal.emulator.state.timeline  # no entry per task, nor any other
    assert set(writes_by_object(portal).values()) == {1}


def test_an_item_closed_before_the_install_is_not_closed_again_by_its_next_event(
        taskbridge: TaskBridge, people: People, on_portal: AdminView) -> None:
    portal = taskbridge.portal
    manager = portal.as_user(people.manager)
    won = manager.create_deal("Won last year", assigned_by=people.manager, stage_id="WON")
    task = manager.create_task(f"D_{won}", title="Send the invoice",
                               responsible=people.colleague)
    taskbridge.install("page")
    taskbridge.drain()
    manager.update_deal(won, TITLE="Won last year (renamed)")
    taskbridge.drain()
    assert on_portal.task(task).real_status == 2  # left open: no closing rule applied
    assert on_portal.status("deal", won) == ""
    assert on_portal.timeline("deal", won) == []


def worker_process(bridge: TaskBridge, workdir: Path) -> subprocess.Popen[bytes]:
    """`taskbridge worker` as deployed, on TaskBridge's database, in a process of its own."""
    settings = bridge.settings
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("TASKBRIDGE_")}
    env.update({
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "TASKBRIDGE_DATABASE_URL": settings.database_url,
        "TASKBRIDGE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "TASKBRIDGE_CLIENT_ID": settings.client_id,
        "TASKBRIDGE_CLIENT_SECRET": settings.client_secret.get_secret_value(),
        "TASKBRIDGE_OAUTH_URL": settings.oauth_url, "TASKBRIDGE_PUBLIC_URL": bridge.url,
        "TASKBRIDGE_ALLOW_INSECURE_PORTALS": "true", "TASKBRIDGE_WORKER_POLL_INTERVAL": "0.1",
        "TASKBRIDGE_WORKER_COALESCE_SECONDS": "0", "TASKBRIDGE_LOG_LEVEL": "WARNING",
    })
    return subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "worker",
         "--no-scheduler"], env=env, cwd=workdir, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


class HeldAnswer:
    """The portal's WSGI app, but the answer to its `nth` write batch is held after the
    writes ran, until released: the worker that sent it is waiting when it is killed."""

    WRITES = ("crm.deal.update", "crm.lead.update", "tasks.task.update")

    def __init__(self, portal: EmulatedPortal, nth: int) -> None:
        self.portal, self.app, self.nth = portal, portal.emulator.wsgi_app, nth
        self.batches = 0
        self.holding, self.released = threading.Event(), threading.Event()

    def _writes(self) -> int:
        return sum(self.portal.emulator.call_log.count(method, include_batched=True)
                   for method in self.WRITES)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        before = self._writes()
        body = list(self.app(environ, start_response))
        if str(environ.get("PATH_INFO", "")).startswith("/rest/batch") and (
                self._writes() > before):
            self.batches += 1
            if self.batches == self.nth:
                self.holding.set()
                self.released.wait(timeout=30)
        return body


def test_a_worker_process_killed_half_way_resumes_without_writing_twice(
        taskbridge: TaskBridge, people: People, on_portal: AdminView, tmp_path: Path) -> None:
    portal = taskbridge.portal
    seeded = seed(portal, people, 120)
    installed = taskbridge.install("page")
    held = HeldAnswer(portal, nth=3)  # the first chunk written, the second half-way
    portal.emulator.wsgi_app = held
    worker = worker_process(taskbridge, tmp_path)
    try:
        assert held.holding.wait(timeout=60), "the worker never wrote"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        held.released.set()
        portal.emulator.wsgi_app = held.app
    half = backfill_progress(taskbridge.storage, installed.id)
    assert half is not None and half.state == "running", half
    assert 0 < half.items_done < len(seeded.expected)
    taskbridge.journal.release_stale(older_than=timedelta(0))  # its lock expired
    taskbridge.drain()
    done = backfill_progress(taskbridge.storage, installed.id)
    assert done is not None and done.state == "done" and done.items_done == done.items_total
    assert set(writes_by_object(portal).values()) == {1}
    assert {item: on_portal.status(*item) for item in seeded.expected} == seeded.expected

"""`taskbridge portals sync MEMBER_ID` against the emulated portal: it queues a backfill,
shows its progress (items done of all, REST requests, time left) until the worker has
given every item its status, and says so; a portal it cannot read is a usage error
naming MEMBER_ID, and a failed backfill exits non-zero with its error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connector.cli import main
from connector.sync.backfill import backfill_progress
from connector.sync.worker import Worker
from emulator.lossy_delivery import lose_deliveries
from tests.scenarios.conftest import People
from tests.support.card_tasks import status_code
from tests.support.stack import TaskBridge


def taskbridge(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """Run the console entry point as a shell would: its exit code, what it said on
    stdout and what it showed on stderr (the progress, the errors)."""
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@contextmanager
def worker_running(stack: TaskBridge, **changes: Any) -> Iterator[Worker]:
    """`taskbridge worker` as it runs beside the command: a worker thread on the database."""
    settings = stack.settings.model_copy(update={"worker_poll_interval": 0.05, **changes})
    worker = Worker(stack.storage, settings, batch_size=50)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)


def deals_with_open_tasks(stack: TaskBridge, people: People, count: int) -> list[int]:
    """Deals with a task in progress that TaskBridge never heard of: every event about
    them was lost on the way, so only reading the portal again finds them."""
    portal = stack.portal
    manager = portal.as_user(people.manager)
    lost = lose_deliveries(portal.emulator, 1.0)
    deals = []
    try:
        for n in range(count):
            deal = manager.create_deal(f"Deal {n}", assigned_by=people.manager)
            task = manager.create_task(f"D_{deal}", title=f"Task {n}",
                                       responsible=people.colleague)
            portal.as_user(people.colleague).start_task(task)
            deals.append(deal)
    finally:
        lost.stop()
    assert {status_code(portal, "deal", deal) for deal in deals} == {""}
    return deals


def test_sync_shows_progress_until_every_item_has_its_status(
    taskbridge_env: TaskBridge, people: People, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    deals = deals_with_open_tasks(stack, people, 3)
    with worker_running(stack):
        code, said, shown = taskbridge(capsys, "portals", "sync", stack.portal.member_id,
                                       "--progress", "lines")
    assert code == 0, shown
    progress = backfill_progress(stack.storage, stack.stored().id)
    assert progress is not None and progress.state == "done"
    took = (progress.finished_at - progress.started_at).total_seconds()
    assert said.splitlines() == [
        f"{stack.portal.member_id}: backfill {progress.id} queued",
        f"{stack.portal.member_id}: backfill done: {progress.items_done} items from "
        f"{progress.tasks_seen} tasks in {took:.0f} s, {progress.requests_spent} REST requests",
    ]
    lines = shown.splitlines()  # one line per change, as a log keeps them
    assert len(lines) == len(set(lines)) >= 1
    assert lines[-1] == (f"backfill done: {progress.items_done}/{progress.items_total} items, "
                         f"{progress.requests_spent} REST requests, {progress.tasks_seen} "
                         "tasks read, about 0s left")
    assert progress.items_done >= len(deals)
    assert {status_code(stack.portal, "deal", deal) for deal in deals} == {"IN_PROGRESS"}


def test_on_a_terminal_the_progress_is_a_bar(
    taskbridge_env: TaskBridge, people: People, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    deals_with_open_tasks(stack, people, 1)
    with worker_running(stack):
        code, _said, shown = taskbridge(capsys, "portals", "sync", stack.portal.member_id,
                                        "--progress", "bar")
    assert code == 0, shown
    bar = [frame for frame in shown.split("\r") if "items [" in frame]
    assert bar, shown
    progress = backfill_progress(stack.storage, stack.stored().id)
    assert "100%|" in bar[-1]
    assert f"| {progress.items_done}/{progress.items_total} items [" in bar[-1]
    assert f", {progress.requests_spent} requests, ETA 0s]" in bar[-1]


def test_no_wait_only_queues_the_backfill(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    calls = stack.rest_calls
    code, said, shown = taskbridge(capsys, "portals", "sync", stack.portal.member_id,
                                   "--no-wait")
    assert code == 0, shown
    progress = backfill_progress(stack.storage, stack.stored().id)
    assert progress is not None and progress.state == "queued"
    assert said == f"{stack.portal.member_id}: backfill {progress.id} queued\n"
    assert shown == ""
    assert stack.rest_calls == calls  # the worker reads the portal, not the command
    code, said, _ = taskbridge(capsys, "portals", "sync", stack.portal.member_id, "--no-wait")
    assert said == f"{stack.portal.member_id}: backfill {progress.id} queued\n"  # joined
    stack.drain()
    assert backfill_progress(stack.storage, stack.stored().id).state == "done"


def test_an_unknown_member_id_is_a_usage_error_naming_it(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    code, said, shown = taskbridge(capsys, "portals", "sync", "no-such-portal")
    assert code == 2 and said == ""
    assert shown.strip().splitlines()[-1] == (
        "Error: Invalid value for MEMBER_ID: no portal with member_id 'no-such-portal' "
        "(see `taskbridge portals`)")


def test_an_uninstalled_portal_is_a_usage_error_and_nothing_is_queued(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    before = backfill_progress(stack.storage, stack.stored().id)
    stack.storage.portals.mark_uninstalled(stack.portal.member_id)
    code, said, shown = taskbridge(capsys, "portals", "sync", stack.portal.member_id)
    assert code == 2 and said == ""
    assert shown.strip().splitlines()[-1] == (
        f"Error: Invalid value for MEMBER_ID: portal '{stack.portal.member_id}' is "
        "uninstalled, not installed: nothing can be read from it")
    assert backfill_progress(stack.storage, stack.stored().id) == before


def test_a_failed_backfill_exits_non_zero_with_its_error(
    taskbridge_env: TaskBridge, people: People, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    deals_with_open_tasks(stack, people, 2)
    stack.portal.emulator.set_faults(error_500_rate=1.0)
    try:
        with worker_running(stack, worker_max_attempts=1):
            code, _said, shown = taskbridge(capsys, "portals", "sync",
                                            stack.portal.member_id, "--progress", "lines")
    finally:
        stack.portal.emulator.set_faults()
    progress = backfill_progress(stack.storage, stack.stored().id)
    assert progress is not None and progress.state == "failed" and progress.error
    assert code == 1, shown
    assert shown.strip().splitlines()[-1] == (
        f"Error: {stack.portal.member_id}: the backfill failed: {progress.error}")

"""Overdue at the deadline: the scheduler keeps one wake-up armed at the earliest deadline
of an open bound task (read from the stored snapshots, never from the portal), queues a
re-check of the tasks due when it rings, and re-arms: when a deadline moves, is removed,
when a task is completed, when a pass of this process or of another stores an earlier
deadline, and when the scheduler changes hands. The overdue sweep stays as the safety net."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.scheduler.deadlines import DeadlineWatch, queue_passed_during_pass
from connector.scheduler.overdue import overdue_sweep
from connector.scheduler.scheduler import Scheduler
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation, Portal
from connector.storage.snapshots import SnapshotStore, StoredTask
from connector.sync.worker import Worker
from mappers.bindings import CrmRef
from mappers.snapshots import COMPLETED, IN_PROGRESS, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from tests.support.sql_statements import statements
from tests.support.stack import TaskBridge

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEAL = CrmRef(2, 10)


class Clock:
    """The watch's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Alarm:
    """Where the watch sets its wake-up: the moment it last asked for (None: none)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self, at: datetime | None) -> None:
        self.at = at


def _task(task_id: int, deadline: datetime | None, *, real_status: int = IN_PROGRESS,
          crm_status: CrmTaskStatus = CrmTaskStatus.IN_PROGRESS) -> StoredTask:
    snapshot = TaskSnapshot(id=task_id, real_status=real_status, created_by=1,
                            responsible_id=2, deadline=deadline, crm_bindings=(DEAL,))
    return StoredTask(snapshot=snapshot, crm_status=crm_status,
                      status_changed_at=NOW - timedelta(days=3), deleted=False)


def _installed(storage: Storage, member_id: str = "m-1") -> Portal:
    # On loopback, on a port nobody serves, and refused by the schedulers' settings
    # (`started`): their other jobs, which call the portal, stop before any request.
    storage.portals.save(Installation(member_id=member_id, domain=f"{member_id}.example",
                                      client_endpoint=f"http://127.0.0.1:9/{member_id}/rest/"))
    storage.portals.mark_installed(member_id)
    return storage.portals.get(member_id)


def _save(storage: Storage, portal: Portal, *tasks: StoredTask) -> dict[int, datetime]:
    """What a sync pass stores; the deadlines the overdue index now holds."""
    return SnapshotStore(storage.engine).save_pass(portal.id, tasks, (), ())


def _queued(storage: Storage) -> list[int]:
    return sorted(int(row["object_id"])
                  for row in Journal(storage.engine).rows(source="deadline"))


def _done(storage: Storage) -> None:
    """The worker handled every waiting row."""
    journal = Journal(storage.engine)
    journal.claim_batch("w1", now=NOW + timedelta(days=30))
    journal.finish([row["id"] for row in journal.rows()])


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def alarm() -> Alarm:
    return Alarm()


@pytest.fixture
def watch(any_storage: Storage, clock: Clock, alarm: Alarm) -> DeadlineWatch:
    return DeadlineWatch(any_storage, alarm, clock=clock)


def test_the_alarm_is_set_at_the_earliest_deadline_of_an_open_bound_task(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm) -> None:
    portal, other = _installed(any_storage), _installed(any_storage, "m-2")
    uninstalled = _installed(any_storage, "m-3")
    any_storage.portals.mark_uninstalled("m-3")
    _save(any_storage, portal,
          _task(1, NOW + timedelta(hours=3)),
          _task(2, NOW + timedelta(minutes=5), real_status=COMPLETED),
          _task(3, NOW + timedelta(minutes=6), crm_status=CrmTaskStatus.EXPIRED),
          _task(4, None))
    # 14:00 at UTC+1 is 13:00 UTC: the earliest, whatever offset the portal gave it.
    _save(any_storage, other, _task(5, datetime(2026, 11, 26, 14, 0,
                                                tzinfo=timezone(timedelta(hours=1)))))
    _save(any_storage, uninstalled, _task(6, NOW + timedelta(minutes=1)))
    assert watch.recheck() == NOW + timedelta(hours=1)
    assert alarm.at == NOW + timedelta(hours=1)


def test_nothing_to_watch_sets_no_alarm(any_storage: Storage, watch: DeadlineWatch,
                                        alarm: Alarm) -> None:
    _installed(any_storage)
    assert watch.recheck() is None
    assert alarm.at is None


def test_a_wake_up_queues_the_tasks_due_then_and_arms_for_the_next(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm, clock: Clock) -> None:
    portal = _installed(any_storage)
    first, second = NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)
    # Many tasks with one deadline: one wake-up queues them all at once.
    _save(any_storage, portal, *(_task(n, first) for n in range(1, 41)), _task(41, second))
    assert watch.recheck() == first
    clock.now = first + timedelta(seconds=1)
    result = watch.wake()
    assert result.queued == 40
    assert _queued(any_storage) == list(range(1, 41))
    assert alarm.at == second
    # A second ring before the next deadline finds nothing due.
    assert watch.wake().queued == 0
    assert alarm.at == second


def test_deadlines_passed_before_the_start_are_queued_at_once(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm, clock: Clock) -> None:
    portal = _installed(any_storage)
    _save(any_storage, portal, _task(1, NOW - timedelta(days=2)),
          _task(2, NOW - timedelta(minutes=1)), _task(3, NOW + timedelta(hours=1)))
    assert watch.recheck() == NOW - timedelta(days=2)  # the scheduler runs it at once
    assert watch.wake().queued == 2
    assert _queued(any_storage) == [1, 2]
    assert alarm.at == NOW + timedelta(hours=1)


def test_a_deadline_moved_later_moves_the_alarm_and_the_old_one_queues_nothing(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm, clock: Clock) -> None:
    portal = _installed(any_storage)
    _save(any_storage, portal, _task(1, NOW + timedelta(minutes=1)))
    watch.recheck()
    _save(any_storage, portal, _task(1, NOW + timedelta(hours=1)))
    clock.now = NOW + timedelta(minutes=2)  # the old alarm rings before a re-read
    assert watch.wake().queued == 0
    assert alarm.at == NOW + timedelta(hours=1)


def test_a_deadline_removed_or_a_task_completed_before_it_leaves_nothing_to_wake_for(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm, clock: Clock) -> None:
    portal = _installed(any_storage)
    _save(any_storage, portal, _task(1, NOW + timedelta(minutes=1)),
          _task(2, NOW + timedelta(minutes=2)))
    assert watch.recheck() == NOW + timedelta(minutes=1)
    _save(any_storage, portal, _task(1, None),
          _task(2, NOW + timedelta(minutes=2), real_status=COMPLETED))
    assert watch.recheck() is None
    assert alarm.at is None
    clock.now = NOW + timedelta(minutes=3)
    with statements(any_storage.engine) as seen:
        assert watch.wake().queued == 0  # an alarm already set rings for nothing: cheaply
    assert not [s for s, _ in seen if "journal" in s]


def test_a_nudge_wakes_earlier_only_for_an_earlier_deadline_not_yet_passed(
        any_storage: Storage, watch: DeadlineWatch, alarm: Alarm, clock: Clock) -> None:
    portal = _installed(any_storage)
    _save(any_storage, portal, _task(1, NOW + timedelta(hours=1)))
    watch.recheck()
    watch.nudge(portal.id, NOW + timedelta(hours=2))
    assert alarm.at == NOW + timedelta(hours=1)
    # A portal in Rome moved a deadline to 12:10 its time, 11:10 UTC: passed already.
    watch.wake()  # nothing due; handled until now
    watch.nudge(portal.id, datetime(2026, 11, 26, 12, 10, tzinfo=timezone(timedelta(hours=1))))
    assert alarm.at == NOW + timedelta(hours=1)
    watch.nudge(portal.id, NOW + timedelta(minutes=10))
    assert alarm.at == NOW + timedelta(minutes=10)


def test_a_deadline_that_passes_while_a_pass_decides_is_queued_by_that_pass(
        any_storage: Storage) -> None:
    portal = _installed(any_storage)
    decided_at, stored_at = NOW, NOW + timedelta(seconds=3)
    deadlines = {1: NOW - timedelta(seconds=1),   # overdue when decided: the rules saw it
                 2: NOW,                          # not overdue at `decided_at` (strictly)
                 3: NOW + timedelta(seconds=2),   # passed during the pass
                 4: stored_at}                    # not passed yet when stored
    journal = Journal(any_storage.engine)
    assert queue_passed_during_pass(journal, portal, deadlines, decided_at, stored_at) == 2
    assert _queued(any_storage) == [2, 3]


def test_the_sweep_stays_the_safety_net_for_a_deadline_the_watch_never_saw(
        any_storage: Storage, watch: DeadlineWatch, clock: Clock) -> None:
    portal = _installed(any_storage)
    clock.now = NOW + timedelta(minutes=5)
    watch.wake()
    # Stored only now, with a deadline before the last wake-up, by a process that queued
    # nothing (it crashed right after storing, say).
    _save(any_storage, portal, _task(1, NOW + timedelta(minutes=1)))
    clock.now = NOW + timedelta(minutes=6)
    assert watch.wake().queued == 0
    assert overdue_sweep(any_storage, now=clock.now) == 1


def test_the_watch_reads_the_deadlines_through_the_overdue_index(
        any_storage: Storage, watch: DeadlineWatch, clock: Clock) -> None:
    portal = _installed(any_storage)
    passed = NOW - timedelta(days=1)
    many = [_task(n, passed, real_status=COMPLETED) for n in range(100, 2100)]
    many += [_task(n, passed, crm_status=CrmTaskStatus.EXPIRED) for n in range(3000, 4000)]
    _save(any_storage, portal, *many, _task(1, NOW + timedelta(minutes=1)))
    engine = any_storage.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE task_snapshots")
    watch.recheck()
    clock.now = NOW + timedelta(minutes=2)
    with statements(engine) as seen:
        assert watch.wake().queued == 1
    reads = [(s, p) for s, p in seen if "FROM task_snapshots" in s]
    assert len(reads) == 3  # the portals with a deadline due, the due tasks, the next one
    with engine.connect() as conn:
        for statement, parameters in reads:
            if engine.dialect.name == "postgresql":
                plan = " ".join(conn.exec_driver_sql(f"EXPLAIN {statement}",
                                                     parameters).scalars())
            else:
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "ix_task_snapshots_overdue" in plan, plan


# -- the scheduler: arming the date job, the re-read interval, the nudge, leadership --------


@pytest.fixture
def started(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Scheduler]]:
    """Start a worker's scheduler on this test's database (each with its own storage, as
    separate worker processes have); all stopped afterwards."""
    running: list[tuple[Scheduler, Storage]] = []

    def start(**overrides: object) -> Scheduler:
        settings = make_settings(oauth_url="http://127.0.0.1:9",
                                 allow_insecure_portals=False, **overrides)
        storage = open_storage(settings)
        scheduler = Scheduler(storage, settings)
        scheduler.start()
        running.append((scheduler, storage))
        return scheduler

    yield start
    for scheduler, storage in running:
        scheduler.stop()
        storage.engine.dispose()


def _wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        pause.wait(0.05)


def test_the_scheduler_arms_a_date_job_and_re_reads_deadlines_other_workers_store(
        started: Callable[..., Scheduler], make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())  # another worker process's view of the database
    portal = _installed(storage)
    later, sooner = (datetime.now(UTC) + timedelta(hours=n) for n in (2, 1))
    _save(storage, portal, _task(1, later))
    scheduler = started(deadline_recheck_seconds=1)
    _wait_for(lambda: scheduler.next_wake == later)
    # Another worker stores an earlier deadline: no nudge reaches this process, the
    # re-read on the interval finds it.
    _save(storage, portal, _task(2, sooner))
    _wait_for(lambda: scheduler.next_wake == sooner)
    storage.engine.dispose()


def test_the_alarm_rings_and_queues_the_task_due(
        started: Callable[..., Scheduler], make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    portal = _installed(storage)
    scheduler = started()
    soon = datetime.now(UTC) + timedelta(seconds=1)
    _save(storage, portal, _task(1, soon))
    scheduler.nudge(portal.id, soon)  # what this process's worker does after storing it
    assert scheduler.next_wake == soon
    _wait_for(lambda: _queued(storage) == [1])
    _wait_for(lambda: scheduler.next_wake is None)  # no deadline ahead
    storage.engine.dispose()


def test_a_pass_that_stores_a_deadline_nudges_its_processs_scheduler(
        taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    portal = taskbridge.portal
    scheduler = Scheduler(taskbridge.storage, taskbridge.settings)
    scheduler.start(paused=True)  # armed, but no job runs: only the nudge can arm it
    try:
        manager = portal.add_user("Maria", "Rossi")
        deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
        deadline = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
        portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                            responsible=manager,
                                            deadline=deadline.isoformat())
        worker = Worker(taskbridge.storage, taskbridge.settings,
                        on_deadline=scheduler.nudge)
        assert portal.emulator.sender.wait_idle(timeout=10)
        worker.run(until_idle=True)
        assert scheduler.next_wake == deadline
    finally:
        scheduler.stop()


def test_the_next_leader_queues_what_passed_while_nobody_watched(
        started: Callable[..., Scheduler], make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    portal = _installed(storage)
    first = started(deadline_recheck_seconds=1)
    _wait_for(first.leadership.is_leader)
    second = started(deadline_recheck_seconds=1)
    passed = datetime.now(UTC) - timedelta(minutes=1)
    _save(storage, portal, _task(1, passed))
    _wait_for(lambda: _queued(storage) == [1])
    _done(storage)  # the worker re-checked it: EXPIRED
    _save(storage, portal, _task(1, passed, crm_status=CrmTaskStatus.EXPIRED))
    first.stop()  # the leader goes; the other takes over on its next re-read
    _save(storage, portal, _task(2, datetime.now(UTC) - timedelta(seconds=1)))
    _wait_for(lambda: _queued(storage) == [1, 2])
    assert second.leadership.is_leader()
    assert [row["object_id"] for row in Journal(storage.engine).rows(source="deadline")
            ] == ["1", "2"]  # each once
    storage.engine.dispose()

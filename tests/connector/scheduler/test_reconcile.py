"""Each portal keeps its own reconcile mark: a portal the pass could not read is named in
the run's record, and its window is read again by the next pass; the others move on. A
hold of an automation rule whose tasks are all done is re-checked (its release was
missed); one still waiting costs nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector.rest.errors import QueryLimitExceeded
from connector.scheduler.jobs import run_job
from connector.scheduler.reconcile import RECONCILE_SLACK, reconcile
from connector.scheduler.retention import retention
from connector.settings import Settings
from connector.storage.counters import record_scheduler_run
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.portals import Installation, Portal
from connector.storage.robot_waits import RobotWaitStore
from connector.storage.schema import scheduler_runs
from connector.storage.snapshots import SnapshotStore, StoredTask
from mappers.bindings import DEAL, CrmRef
from mappers.snapshots import COMPLETED, IN_PROGRESS, TaskSnapshot

T1 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class ChangedNothing:
    """A portal client that answers every list empty, or fails, and notes what it was
    asked for since when."""

    def __init__(self, asked: list[datetime], failing: bool) -> None:
        self.asked, self.failing = asked, failing

    def list_all(self, method: str, params: dict[str, Any], **_: Any) -> Iterator[Any]:
        if self.failing:
            raise QueryLimitExceeded("too many requests", method=method, http_status=503,
                                     code="QUERY_LIMIT_EXCEEDED")
        stamp = next(value for key, value in params["filter"].items() if key.startswith(">="))
        self.asked.append(datetime.fromisoformat(stamp))
        return iter(())

    def close(self) -> None:
        pass


@pytest.fixture
def two_portals(any_storage: Storage) -> Storage:
    for member in ("m-a", "m-b"):
        any_storage.portals.save(Installation(member_id=member, domain=f"{member}.example",
                                              client_endpoint=f"https://{member}.example/rest/"))
        any_storage.portals.mark_installed(member)
    return any_storage


def _pass(storage: Storage, settings: Settings, now: datetime, failing: set[str]
          ) -> dict[str, datetime]:
    """One recorded reconcile pass; the window start each portal was read from."""
    asked: dict[str, list[datetime]] = {"m-a": [], "m-b": []}

    def client_for(portal: Portal) -> Any:
        return ChangedNothing(asked[portal.member_id], portal.member_id in failing)

    run_job(storage.engine, "reconcile",
            lambda: reconcile(storage, settings, now=now, client_for=client_for))
    return {member: min(stamps) for member, stamps in asked.items() if stamps}


def _last_run(storage: Storage) -> Any:
    with storage.engine.connect() as conn:
        return conn.execute(select(scheduler_runs).order_by(scheduler_runs.c.id.desc())
                            .limit(1)).first()


def test_a_failed_portals_window_is_read_again_next_pass(
        two_portals: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = two_portals, make_settings()
    first_window = T1 - timedelta(seconds=2 * settings.reconcile_interval)
    assert _pass(storage, settings, T1, failing={"m-b"}) == {
        "m-a": first_window - RECONCILE_SLACK}
    run = _last_run(storage)
    assert run.outcome == "partial"
    assert list(run.detail["failed"]) == ["m-b"]
    assert "QUERY_LIMIT_EXCEEDED" in run.detail["failed"]["m-b"]

    t2 = T1 + timedelta(minutes=15)
    assert _pass(storage, settings, t2, failing=set()) == {
        "m-a": T1 - RECONCILE_SLACK,             # moved on
        "m-b": first_window - RECONCILE_SLACK,   # the window it missed, read again
    }
    assert _last_run(storage).outcome == "ok"
    assert "failed" not in _last_run(storage).detail

    t3 = t2 + timedelta(minutes=15)
    assert _pass(storage, settings, t3, failing=set()) == {
        "m-a": t2 - RECONCILE_SLACK, "m-b": t2 - RECONCILE_SLACK}


def test_a_pass_that_crashed_leaves_every_mark_where_it_was(
        two_portals: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = two_portals, make_settings()
    _pass(storage, settings, T1, failing=set())

    def crash() -> int:
        raise RuntimeError("database went away")

    run_job(storage.engine, "reconcile", crash)
    assert _last_run(storage).outcome == "error"
    later = T1 + timedelta(hours=1)
    assert _pass(storage, settings, later, failing=set()) == {
        "m-a": T1 - RECONCILE_SLACK, "m-b": T1 - RECONCILE_SLACK}


def test_a_pass_recorded_before_per_portal_marks_counts_for_every_portal(
        two_portals: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = two_portals, make_settings()
    record_scheduler_run(storage.engine, "reconcile", started_at=T1, finished_at=T1,
                         outcome="ok", detail={"queued": 3})
    assert _pass(storage, settings, T1 + timedelta(minutes=15), failing=set()) == {
        "m-a": T1 - RECONCILE_SLACK, "m-b": T1 - RECONCILE_SLACK}


def test_retention_forgets_old_runs_but_the_marks_the_next_pass_reads(
        two_portals: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = two_portals, make_settings()
    _pass(storage, settings, T1, failing={"m-b"})
    for outcome in ("ok", "error"):
        record_scheduler_run(storage.engine, "overdue_sweep", started_at=T1, finished_at=T1,
                             outcome=outcome, detail={"queued": 0})
    long_after = datetime.now(UTC) + timedelta(days=settings.journal_retention_days + 1)
    retention(storage, settings, now=long_after)
    with storage.engine.connect() as conn:
        left = conn.execute(select(scheduler_runs.c.job)).scalars().all()
    assert left == ["reconcile"]
    later = T1 + timedelta(minutes=15)
    assert _pass(storage, settings, later, failing=set())["m-a"] == T1 - RECONCILE_SLACK


def test_a_hold_whose_tasks_are_done_is_rechecked_and_one_still_waiting_costs_nothing(
        two_portals: Storage, make_settings: Callable[..., Settings]) -> None:
    storage, settings = two_portals, make_settings()
    portal = storage.portals.get("m-a")
    waits = RobotWaitStore(storage.engine, storage.cipher)
    for deal, real_status in ((7, COMPLETED), (8, IN_PROGRESS)):
        ref = CrmRef(DEAL, deal)
        snapshot = TaskSnapshot(id=deal * 10, real_status=real_status, created_by=1,
                                responsible_id=2, crm_bindings=(ref,))
        SnapshotStore(storage.engine).save_pass(
            portal.id, [StoredTask(snapshot, None, None, False)], [], [])
        hold = waits.take_up(portal.id, call_key=f"k{deal}", workflow_id=f"wf{deal}",
                             code="taskbridge_wait_for_tasks", item=ref, event_token="t",
                             options={}, journal_id=None)
        waits.hold(hold.id)

    _pass(storage, settings, T1, failing=set())

    rechecked = [row["object_key"] for row in Journal(storage.engine).rows(
        event="TASKBRIDGE_RECHECK_ITEM", portal_id=portal.id)]
    assert "deal:7" in rechecked
    assert "deal:8" not in rechecked

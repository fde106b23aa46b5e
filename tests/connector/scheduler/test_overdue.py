"""The overdue sweep (spec §2: a deadline passing fires no event) finds the bound, open,
not yet EXPIRED tasks whose deadline has passed with one indexed query: no REST call, and
no read of the tasks that cannot be overdue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from connector.scheduler.overdue import overdue_sweep
from connector.settings import Settings
from connector.storage import engines
from connector.storage.engines import Storage, make_engine
from connector.storage.journal import Journal
from connector.storage.portals import Installation
from connector.storage.snapshots import SnapshotStore, StoredTask
from mappers.bindings import CrmRef
from mappers.snapshots import COMPLETED, DECLINED, IN_PROGRESS, SUPPOSEDLY_COMPLETED, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from tests.support.sql_statements import statements
from tests.support.stack import TaskBridge

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEAL = CrmRef(2, 10)


def _task(task_id: int, *, deadline: datetime | None, real_status: int = IN_PROGRESS,
          bound: bool = True, crm_status: CrmTaskStatus | None = CrmTaskStatus.IN_PROGRESS,
          deleted: bool = False) -> StoredTask:
    snapshot = TaskSnapshot(id=task_id, real_status=real_status, created_by=1,
                            responsible_id=2, deadline=deadline,
                            crm_bindings=(DEAL,) if bound else ())
    return StoredTask(snapshot=snapshot, crm_status=crm_status,
                      status_changed_at=NOW - timedelta(days=3), deleted=deleted)


def _portal(storage: Storage) -> int:
    storage.portals.save(Installation(member_id="m-1", domain="m-1.example",
                                      client_endpoint="https://m-1.example/rest/"))
    storage.portals.mark_installed("m-1")
    return storage.portals.get("m-1").id


def _save(storage: Storage, portal_id: int, *tasks: StoredTask) -> None:
    store = SnapshotStore(storage.engine)
    with storage.engine.begin() as conn:
        for task in tasks:
            store.save_task(conn, portal_id, task)


def _queued(storage: Storage) -> list[int]:
    return sorted(int(row["object_id"]) for row in Journal(storage.engine).rows(source="sweep"))


def test_only_bound_open_tasks_past_their_deadline_not_yet_expired_are_queued(
        any_storage: Storage) -> None:
    storage = any_storage
    portal_id = _portal(storage)
    passed = NOW - timedelta(hours=1)
    _save(storage, portal_id,
          _task(1, deadline=passed),
          # 13:30 in Rome is 12:30 UTC: not passed yet, whatever offset the portal used
          _task(2, deadline=datetime(2026, 11, 26, 13, 30, tzinfo=timezone(timedelta(hours=1)))),
          # 12:30 in New York is 17:30 UTC ... and 11:30 at UTC+3 is 08:30 UTC: passed
          _task(3, deadline=datetime(2026, 11, 26, 11, 30, tzinfo=timezone(timedelta(hours=3)))),
          _task(4, deadline=passed, real_status=COMPLETED),
          _task(5, deadline=passed, real_status=SUPPOSEDLY_COMPLETED),
          _task(6, deadline=passed, real_status=DECLINED),
          _task(7, deadline=passed, crm_status=CrmTaskStatus.EXPIRED),
          _task(8, deadline=passed, deleted=True),
          _task(9, deadline=passed, bound=False),
          _task(10, deadline=None),
          _task(11, deadline=NOW + timedelta(days=1)))
    assert overdue_sweep(storage, now=NOW) == 2
    assert _queued(storage) == [1, 3]
    assert overdue_sweep(storage, now=NOW) == 0  # their re-checks are still waiting


def test_a_task_leaves_and_rejoins_the_sweep_as_it_changes(any_storage: Storage) -> None:
    storage = any_storage
    portal_id = _portal(storage)
    _save(storage, portal_id, _task(1, deadline=NOW - timedelta(hours=1),
                                    crm_status=CrmTaskStatus.EXPIRED))
    assert overdue_sweep(storage, now=NOW) == 0
    # The creator moves the deadline: no longer EXPIRED, and it passes again later.
    _save(storage, portal_id, _task(1, deadline=NOW + timedelta(hours=1),
                                    crm_status=CrmTaskStatus.DEADLINE_CHANGED))
    assert overdue_sweep(storage, now=NOW) == 0
    assert overdue_sweep(storage, now=NOW + timedelta(hours=2)) == 1
    Journal(storage.engine).claim_batch("w1", now=NOW + timedelta(hours=2))
    with storage.engine.begin() as conn:
        SnapshotStore(storage.engine).mark_deleted(conn, portal_id, 1)
    Journal(storage.engine).finish([row["id"] for row in Journal(storage.engine).rows()])
    assert overdue_sweep(storage, now=NOW + timedelta(hours=3)) == 0




def test_the_sweep_reads_the_candidates_through_its_index(any_storage: Storage) -> None:
    storage = any_storage
    portal_id = _portal(storage)
    passed = NOW - timedelta(days=1)
    many = [_task(n, deadline=passed, real_status=COMPLETED) for n in range(100, 2100)]
    many += [_task(n, deadline=passed, crm_status=CrmTaskStatus.EXPIRED)
             for n in range(3000, 4000)]
    _save(storage, portal_id, *many, _task(1, deadline=passed))
    engine = storage.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE task_snapshots")
    with statements(engine) as seen:
        assert overdue_sweep(storage, now=NOW) == 1
    [(statement, parameters)] = [(s, p) for s, p in seen if "FROM task_snapshots" in s]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            plan = " ".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
        else:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_task_snapshots_overdue" in plan, plan


def test_the_sweep_makes_no_rest_call(taskbridge: TaskBridge) -> None:
    taskbridge.install()
    taskbridge.drain()
    portal = taskbridge.portal
    manager = portal.add_user("Maria", "Rossi")
    deal = portal.as_user(manager).create_deal("ACME", assigned_by=manager)
    deadline = datetime.now(UTC) + timedelta(days=1)
    task = portal.as_user(manager).create_task(f"D_{deal}", title="Contract",
                                               responsible=manager,
                                               deadline=deadline.isoformat())
    taskbridge.drain()
    calls = portal.call_log.count()
    assert overdue_sweep(taskbridge.storage, now=deadline + timedelta(minutes=1)) == 1
    assert portal.call_log.count() == calls
    assert [row["object_id"] for row in taskbridge.journal.rows(source="sweep")] == [str(task)]


def test_the_migration_fills_the_sweeps_column_for_existing_tasks(
        make_settings: Callable[..., Settings]) -> None:
    engine = make_engine(make_settings().database_url)
    engines.upgrade(engine, "0005")
    old = sa.table("task_snapshots", *(sa.column(name, kind) for name, kind in (
        ("portal_id", sa.Integer), ("task_id", sa.Integer), ("snapshot", sa.JSON),
        ("crm_status", sa.String), ("bindings", sa.JSON), ("deleted", sa.Boolean),
        ("updated_at", sa.DateTime(timezone=True)))))
    portals = sa.table("portals", sa.column("id"), sa.column("member_id"), sa.column("domain"),
                       sa.column("client_endpoint"), sa.column("server_endpoint"),
                       sa.column("auth_mode"), sa.column("scope"), sa.column("token_version"),
                       sa.column("language"), sa.column("settings"), sa.column("state"),
                       sa.column("rate_drain"), sa.column("rate_burst"))
    rows = {1: _task(1, deadline=datetime(2026, 11, 26, 14, 0,
                                          tzinfo=timezone(timedelta(hours=2)))),
            2: _task(2, deadline=NOW, real_status=COMPLETED),
            3: _task(3, deadline=NOW, crm_status=CrmTaskStatus.EXPIRED),
            4: _task(4, deadline=None)}
    with engine.begin() as conn:
        conn.execute(portals.insert().values(
            id=1, member_id="m-1", domain="m-1.example", client_endpoint="https://x/rest/",
            server_endpoint="", auth_mode="app", scope="", token_version=0, language="en",
            settings="{}", state="installed", rate_drain=2.0, rate_burst=50))
        for task_id, task in rows.items():
            conn.execute(old.insert().values(
                portal_id=1, task_id=task_id, snapshot=task.snapshot.model_dump(mode="json"),
                crm_status=task.crm_status.value if task.crm_status else None,
                bindings=[ref.code for ref in task.snapshot.crm_bindings], deleted=False,
                updated_at=NOW))
    engines.upgrade(engine)
    with engine.connect() as conn:
        filled = dict(conn.exec_driver_sql(
            "SELECT task_id, overdue_after FROM task_snapshots ORDER BY task_id").all())
    engine.dispose()
    assert [task_id for task_id, at in filled.items() if at is not None] == [1]
    assert str(filled[1]).startswith("2026-11-26 12:00:00")  # stored in UTC

"""`SyncFlow` on its own, against the emulated portal: one pass over claimed rows fetches
the task, lets `mappers/` decide, writes the item's status and keeps the snapshot only
when `store` is called; an observation that changes nothing writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from connector.storage.journal import Journal
from connector.storage.schema import write_log
from connector.storage.snapshots import SnapshotStore
from connector.sync.flow import SyncFlow
from mappers.bindings import CrmRef
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import WriteKind

DEAL = 2


def claim(installed, object_key: str):  # type: ignore[no-untyped-def]
    """Every event the portal sent has landed; the rows waiting for `object_key`."""
    assert installed.portal.emulator.sender.wait_idle(timeout=10)
    rows = Journal(installed.storage.engine).claim_batch(
        "test-pass", now=datetime.now(UTC) + timedelta(seconds=1))
    assert rows, "no event was journaled"
    assert {row.object_key for row in rows} == {object_key}
    return rows


def written(installed) -> int:  # type: ignore[no-untyped-def]
    with installed.storage.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(write_log)).scalar_one()


def test_a_new_task_writes_its_items_status_and_the_snapshot_is_kept_on_store(
    installed, client, people, on_portal
):
    deal = installed.portal.as_user(people.manager).create_deal("ACME",
                                                                assigned_by=people.manager)
    installed.drain()
    task = installed.portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    rows = claim(installed, f"task:{task}")
    portal_row = installed.stored()
    snapshots = SnapshotStore(installed.storage.engine)
    flow = SyncFlow(snapshots, installed.storage.engine)
    calls_before = installed.rest_calls

    work, outcome, fetch_requests = flow.run(portal_row, client, rows, datetime.now(UTC))

    assert outcome.requests == 1  # every write of the pass in one batch
    assert installed.rest_calls - calls_before == fetch_requests + 1 <= 3
    [status] = [w for w in work.writes if w.kind is WriteKind.ITEM_STATUS]
    assert (status.item, status.field("xml_id")) == (CrmRef(DEAL, deal), "CREATED")
    assert status.key in outcome.sent and outcome.failed == {}
    assert outcome.echoes.get(f"deal:{deal}") == 1  # its own update comes back as an event
    assert on_portal.status("deal", deal) == "CREATED"
    assert len(on_portal.new_entries("deal", deal)) == 1
    assert snapshots.tasks(portal_row.id, [task]) == {}  # decided, not yet remembered

    flow.store(portal_row, work)

    stored = snapshots.tasks(portal_row.id, [task])[task]
    assert stored.crm_status is CrmTaskStatus.CREATED
    assert stored.snapshot.responsible_id == people.colleague
    assert CrmRef(DEAL, deal) in stored.snapshot.crm_bindings
    item = snapshots.items(portal_row.id, {CrmRef(DEAL, deal)})[CrmRef(DEAL, deal)]
    assert item.status is CrmTaskStatus.CREATED
    # The kanban card's activity went in the same batch; its id is kept for the next write.
    [card] = [w for w in work.writes if w.kind is WriteKind.ITEM_CARD]
    assert card.key in outcome.sent
    [activity] = installed.portal.configurable_activities("deal", deal)
    assert activity["fields"]["badgeCode"] == "taskbridge_created"
    assert item.card_activity_id == activity["id"]
    assert on_portal.badge("deal", deal) == "CREATED"


def test_an_observation_that_changes_nothing_writes_nothing(installed, client, people,
                                                           on_portal):
    deal = installed.portal.as_user(people.manager).create_deal("ACME",
                                                                assigned_by=people.manager)
    task = installed.portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()
    entries = on_portal.new_entries("deal", deal)
    writes_before = written(installed)
    portal_row = installed.stored()
    Journal(installed.storage.engine).enqueue(
        portal_id=portal_row.id, member_id=portal_row.member_id, event="TASKBRIDGE_RECHECK",
        object_type="task", object_id=str(task), payload={}, source="reconcile")
    rows = claim(installed, f"task:{task}")
    flow = SyncFlow(SnapshotStore(installed.storage.engine), installed.storage.engine)
    calls_before = installed.rest_calls

    work, outcome, fetch_requests = flow.run(portal_row, client, rows, datetime.now(UTC))

    assert installed.rest_calls - calls_before == fetch_requests  # reads only
    assert entries and on_portal.status("deal", deal) == "CREATED"
    assert work.writes == []
    assert (outcome.sent, outcome.requests) == ([], 0)
    assert written(installed) == writes_before
    assert on_portal.new_entries("deal", deal) == []
    assert work.tasks[task].crm_status is CrmTaskStatus.CREATED


def test_a_second_task_updates_the_items_one_activity(installed, client, people, on_portal):
    deal = installed.portal.as_user(people.manager).create_deal("ACME",
                                                                assigned_by=people.manager)
    first = installed.portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()
    installed.portal.as_user(people.colleague).start_task(first)
    installed.drain()
    second = installed.portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Check the VAT number", responsible=people.colleague)
    installed.drain()

    [activity] = installed.portal.configurable_activities("deal", deal)
    assert activity["fields"]["badgeCode"] == "taskbridge_created"
    blocks = activity["layout"]["body"]["blocks"]
    assert set(blocks) == {f"task_{first}", f"task_{second}"}
    assert blocks[f"task_{first}"]["properties"]["title"] == "In progress"
    assert activity["fields"]["deadline"] is None
    assert on_portal.badge("deal", deal) == on_portal.status("deal", deal) == "CREATED"


def test_a_deleted_task_clears_its_items_status(installed, client, people, on_portal):
    deal = installed.portal.as_user(people.manager).create_deal("ACME",
                                                                assigned_by=people.manager)
    task = installed.portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Prepare the contract", responsible=people.colleague)
    installed.drain()
    installed.portal.as_user(people.manager).delete_task(task)
    rows = claim(installed, f"task:{task}")
    portal_row = installed.stored()
    snapshots = SnapshotStore(installed.storage.engine)
    flow = SyncFlow(snapshots, installed.storage.engine)

    work, outcome, _ = flow.run(portal_row, client, rows, datetime.now(UTC))
    flow.store(portal_row, work)

    [status] = [w for w in work.writes if w.kind is WriteKind.ITEM_STATUS]
    assert status.key in outcome.sent and status.field("xml_id") == ""
    assert on_portal.status("deal", deal) == ""
    # Its activity is closed in the same batch: the badge leaves the kanban card.
    [card] = [w for w in work.writes if w.kind is WriteKind.ITEM_CARD]
    assert card.key in outcome.sent and outcome.requests == 1
    assert card.field("completed") == "Y"
    assert on_portal.badge("deal", deal) == ""
    assert len(installed.portal.configurable_activities("deal", deal)) == 1
    assert work.deleted_tasks == {task}
    assert snapshots.tasks(portal_row.id, [task])[task].deleted

"""Calls of TaskBridge's automation rules, kept until answered: taken up once whatever
the deliveries, the event token encrypted at rest, holds found per deal or lead."""

from __future__ import annotations

from sqlalchemy import select

from connector.storage.engines import Storage
from connector.storage.portals import Installation
from connector.storage.robot_waits import ANSWERED, OPEN, WAITING, RobotWaitStore
from connector.storage.schema import robot_waits
from mappers.bindings import DEAL, LEAD, CrmRef

TOKEN = "6751a0c2d4e5f6.12345678|A1_2_3|secret.part"


def a_portal(storage: Storage) -> int:
    return storage.portals.save(Installation(
        member_id="m-1", domain="a.example", client_endpoint="https://a.example/rest/",
        access_token="at", refresh_token="rt", application_token="app")).id


def take_up(store: RobotWaitStore, portal_id: int, item: CrmRef, key: str = "k1",
            journal_id: int = 1):  # type: ignore[no-untyped-def]
    return store.take_up(portal_id, call_key=key, workflow_id=f"wf-{key}",
                         code="taskbridge_wait_for_tasks", item=item, event_token=TOKEN,
                         options={"pending_review_done": True}, journal_id=journal_id)


def test_a_call_is_taken_up_once_and_its_token_is_sealed(any_storage: Storage) -> None:
    storage = any_storage
    store = RobotWaitStore(storage.engine, storage.cipher)
    portal_id = a_portal(storage)
    first = take_up(store, portal_id, CrmRef(DEAL, 42))
    store.task_created(first.id, 51)
    again = take_up(store, portal_id, CrmRef(DEAL, 42), journal_id=9)
    assert (again.id, again.state, again.task_id, again.journal_id) == (first.id, OPEN, 51, 1)
    assert again.event_token == TOKEN and TOKEN not in repr(again)
    assert again.options == {"pending_review_done": True}
    with storage.engine.connect() as conn:
        sealed = conn.execute(select(robot_waits.c.event_token_enc)).scalar_one()
    assert sealed.startswith("fernet:") and "secret" not in sealed


def test_holds_are_found_per_item_and_end_when_answered(any_storage: Storage) -> None:
    storage = any_storage
    store = RobotWaitStore(storage.engine, storage.cipher)
    portal_id = a_portal(storage)
    deal = take_up(store, portal_id, CrmRef(DEAL, 5), "deal")
    lead = take_up(store, portal_id, CrmRef(LEAD, 5), "lead")
    store.hold(deal.id)
    store.hold(lead.id)
    assert [w.id for w in store.waiting_on(portal_id, [CrmRef(DEAL, 5)])] == [deal.id]
    assert store.waiting_on(portal_id, []) == []
    assert {w.id for w in store.waiting(portal_id)} == {deal.id, lead.id}

    store.answered(deal.id, {"values": {"Error": ""}})
    assert store.waiting_on(portal_id, [CrmRef(DEAL, 5)]) == []
    assert (store.count(portal_id, ANSWERED), store.count(portal_id, WAITING)) == (1, 1)


def test_deleting_the_portal_deletes_its_calls(storage: Storage) -> None:
    store = RobotWaitStore(storage.engine, storage.cipher)
    portal_id = a_portal(storage)
    take_up(store, portal_id, CrmRef(DEAL, 5))
    storage.portals.delete("m-1")
    with storage.engine.connect() as conn:
        assert conn.execute(select(robot_waits)).all() == []

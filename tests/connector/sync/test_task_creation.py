"""Creating a task from a CRM card: the item read, the task, its checklist and the
timeline note are one batch (one request); a missing item stops it before any task
exists; a task created without all its parts says which; `create_and_show` shows the
status at once and the ONTASKADD pass later writes nothing twice."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qsl

import pytest
import responses

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.sync.task_creation import (
    TASK_ID,
    InvalidNewTask,
    ItemUnavailable,
    NewTask,
    TaskPartlyCreated,
    add_task,
    create_and_show,
)
from mappers.bindings import CrmRef

DEAL, CONTACT = 2, 3


def new_task(deal: int, people, **changes) -> NewTask:  # type: ignore[no-untyped-def]
    values = {"item": CrmRef(DEAL, deal), "title": "Prepare the contract",
              "responsible_id": people.colleague, "created_by": people.manager,
              "checklist": ("Draft", "Sign")}
    return NewTask(**{**values, **changes})


def tasks_on(portal) -> int:  # type: ignore[no-untyped-def]
    with portal.emulator.state.lock:
        return len(portal.emulator.state.tasks)


def test_the_task_its_checklist_and_its_note_are_one_request(installed, client, people,
                                                            on_portal):
    deal = installed.portal.as_user(people.manager).create_deal("ACME")
    calls = installed.rest_calls

    created = add_task(client, new_task(deal, people))

    assert installed.rest_calls - calls == 1
    task = installed.portal.task(created.task_id)
    assert task["ufCrmTask"] == [f"D_{deal}"]
    assert int(task["responsibleId"]) == people.colleague
    assert int(task["createdBy"]) == people.manager
    assert created.task["tags"] == ["CRM"]
    checklist = on_portal.call("task.checklistitem.getlist", {"TASKID": created.task_id})
    assert [row["TITLE"] for row in checklist["result"]] == ["Draft", "Sign"]
    [note] = on_portal.new_entries("deal", deal)
    assert "Prepare the contract" in note


def test_a_missing_item_stops_the_batch_before_any_task_exists(installed, client, people):
    before = tasks_on(installed.portal)

    with pytest.raises(ItemUnavailable, match=r"D_999999"):
        add_task(client, new_task(999_999, people))

    assert tasks_on(installed.portal) == before


def test_create_and_show_shows_the_status_at_once_and_the_event_adds_nothing(
    installed, client, people, on_portal
):
    deal = installed.portal.as_user(people.manager).create_deal("ACME")

    task_id = create_and_show(installed.storage.engine, client, installed.stored(),
                              new_task(deal, people, checklist=()))

    assert on_portal.status("deal", deal) == "CREATED"
    entries = on_portal.new_entries("deal", deal)
    assert len(entries) == 2  # the note, and the status change
    installed.drain()  # ONTASKADD and the echoes of TaskBridge's own writes
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.new_entries("deal", deal) == []
    assert installed.task_status(task_id) == "CREATED"


HOOK = "https://portal.example.com/rest/1/code/"


@responses.activate
def test_the_batch_reads_the_item_first_and_halts_at_the_first_error():
    responses.post(f"{HOOK}batch", json={"result": {
        "result": {"item": {"ID": "5"}, "task": {"task": {"id": "77"}}, "check_0": 1},
        "result_error": {"check_1": {"error": "ERROR_CORE", "error_description": "no"}},
    }})
    client = PortalClient.for_webhook(HOOK, policy=RetryPolicy(max_attempts=1))
    task = NewTask(item=CrmRef(DEAL, 5), title="Prepare the contract", responsible_id=3,
                   created_by=2, checklist=("Draft", "Sign"))

    with pytest.raises(TaskPartlyCreated) as caught:
        add_task(client, task)

    assert caught.value.task_id == 77
    assert caught.value.failed == ("check_1", "note")
    sent = json.loads(responses.calls[0].request.body)
    assert sent["halt"] == 1
    assert list(sent["cmd"]) == ["item", "task", "check_0", "check_1", "note"]
    assert sent["cmd"]["item"] == "crm.deal.get?id=5"
    checklist_item = dict(parse_qsl(sent["cmd"]["check_0"].partition("?")[2]))
    assert checklist_item["TASKID"] == TASK_ID  # the new task's id, filled in by the portal


@pytest.mark.parametrize(("change", "field"), [
    ({"item": CrmRef(CONTACT, 5)}, "item"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 256}, "title"),
    ({"responsible_id": 0}, "responsible_id"),
    ({"created_by": -1}, "created_by"),
    ({"description": "x" * 10_001}, "description"),
    ({"deadline": datetime(2030, 1, 1, 12, 0)}, "deadline"),
    ({"checklist": ("ok", "")}, "checklist"),
    ({"checklist": tuple(f"item {n}" for n in range(41))}, "checklist"),
])
def test_a_new_task_names_the_value_that_is_wrong(change, field):
    valid = {"item": CrmRef(DEAL, 5), "title": "Prepare the contract", "responsible_id": 3,
             "created_by": 2}
    with pytest.raises(InvalidNewTask) as caught:
        NewTask(**{**valid, **change})
    assert caught.value.field == field

"""Contacts, companies and smart-process items through crm.item.*, and tasks bound to them."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import CLIENT_ID

CONTACT, COMPANY = 3, 4


@pytest.fixture
def people(portal):
    return portal.add_user("Anna", "Rossi"), portal.add_user("Bruno", "Bianchi")


def test_contact_and_company_answer_in_camel_case(rest, portal, people):
    anna, bruno = people
    contact = portal.as_user(1).create_contact("Carla", "Verdi", assigned_by=anna)
    company = portal.as_user(1).create_company("Acme", assigned_by=bruno)
    got = rest.call("crm.item.get", {"entityTypeId": CONTACT, "id": contact})["item"]
    assert (got["id"], got["name"], got["lastName"], got["assignedById"],
            got["entityTypeId"]) == (contact, "Carla", "Verdi", anna, CONTACT)
    assert "title" not in got  # a contact has a name, not a title
    assert got["updatedTime"].endswith("+00:00")
    got = rest.call("crm.item.get", {"entityTypeId": COMPANY, "id": company})["item"]
    assert (got["id"], got["title"], got["assignedById"]) == (company, "Acme", bruno)
    assert portal.crm_item(COMPANY, company)["title"] == "Acme"


def test_list_filters_by_id_list_and_selects(rest, portal, people):
    anna, bruno = people
    ids = [portal.as_user(1).create_company(f"c{i}", assigned_by=anna) for i in range(3)]
    body = rest.raw("crm.item.list", {
        "entityTypeId": COMPANY, "filter": {"@id": [ids[0], ids[2]]},
        "select": ["id", "assignedById"]}).json()
    assert body["result"] == {"items": [{"id": ids[0], "assignedById": anna},
                                        {"id": ids[2], "assignedById": anna}]}
    assert body["total"] == 2
    rows = rest.call("crm.item.list", {"entityTypeId": COMPANY, "filter": {"id": ids[1]}})
    assert [r["title"] for r in rows["items"]] == ["c1"]
    rows = rest.call("crm.item.list", {"entityTypeId": COMPANY,
                                       "filter": {"assignedById": bruno}})
    assert rows == {"items": []}
    rows = rest.call("crm.item.list", {"entityTypeId": COMPANY, "order": {"id": "DESC"},
                                       "select": ["id"], "start": -1})
    assert [r["id"] for r in rows["items"]] == ids[::-1]


def test_smart_process_items_are_their_own_type(rest, portal, people):
    anna, _ = people
    type_id = portal.add_smart_process("Installations")
    assert type_id == 128
    assert portal.add_smart_process("Repairs") == 129
    item = portal.as_user(1).create_smart_item(type_id, "Boiler", assigned_by=anna)
    got = rest.call("crm.item.get", {"entityTypeId": type_id, "id": item})["item"]
    assert (got["id"], got["title"], got["assignedById"]) == (item, "Boiler", anna)
    assert rest.call("crm.item.list", {"entityTypeId": 129}) == {"items": []}


def test_unknown_type_and_missing_item_are_not_found(rest, portal):
    answer = rest.raw("crm.item.list", {"entityTypeId": 130}).json()
    assert (answer["error"], answer["error_description"]) == (
        "NOT_FOUND", "Smart process 130 not found")
    answer = rest.raw("crm.item.get", {"entityTypeId": COMPANY, "id": 99})
    assert answer.status_code == 400
    assert answer.json()["error"] == "NOT_FOUND"


def test_add_update_delete_through_rest(rest, portal, people):
    anna, bruno = people
    made = rest.call("crm.item.add", {"entityTypeId": COMPANY,
                                      "fields": {"title": "Beta", "assignedById": anna}})
    company = made["item"]["id"]
    rest.call("crm.item.update", {"entityTypeId": COMPANY, "id": company,
                                  "fields": {"assignedById": bruno}})
    assert portal.crm_item(COMPANY, company)["assignedById"] == bruno
    portal.as_user(1).update_crm_item(COMPANY, company, assignedById=anna)
    assert portal.crm_item(COMPANY, company)["assignedById"] == anna
    assert rest.call("crm.item.delete", {"entityTypeId": COMPANY, "id": company}) == []
    assert rest.raw("crm.item.get", {"entityTypeId": COMPANY, "id": company}).status_code == 400


def test_changes_fire_their_crm_events(portal, receiver, install):
    install(handler_url=f"{receiver.url}/install")
    for event in ("ONCRMCOMPANYADD", "ONCRMDYNAMICITEMADD"):
        portal.events.bind(CLIENT_ID, event, f"{receiver.url}/events", 1, False)
    type_id = portal.add_smart_process("Installations")
    company = portal.as_user(1).create_company("Acme")
    item = portal.as_user(1).create_smart_item(type_id, "Boiler")
    received = receiver.wait_for(lambda got: len(receiver.events("ONCRMCOMPANYADD")) == 1
                                 and len(receiver.events("ONCRMDYNAMICITEMADD")) == 1)
    forms = {r.form["event"]: r.form for r in received}
    assert forms["ONCRMCOMPANYADD"]["data[FIELDS][ID]"] == str(company)
    assert forms["ONCRMDYNAMICITEMADD"]["data[FIELDS][ID]"] == str(item)
    assert forms["ONCRMDYNAMICITEMADD"]["data[FIELDS][ENTITY_TYPE_ID]"] == str(type_id)


def test_tasks_bind_to_contacts_companies_and_smart_process_items(rest, portal, people):
    anna, _ = people
    type_id = portal.add_smart_process("Installations")
    for _ in range(4):
        portal.as_user(1).create_contact("Carla")
    contact = portal.as_user(1).create_contact("Dario")
    task = rest.call("tasks.task.add", {"fields": {
        "TITLE": "Call back", "RESPONSIBLE_ID": anna,
        "UF_CRM_TASK": [f"C_{contact}", "CO_7", f"T{type_id:x}_3"]}})["task"]
    got = rest.call("tasks.task.get", {"taskId": task["id"], "select": ["ID", "UF_CRM_TASK"]})
    assert got["task"]["ufCrmTask"] == ["C_5", "CO_7", "T80_3"]
    listed = rest.call("tasks.task.list", {"filter": {"UF_CRM_TASK": "T80_3"},
                                           "select": ["ID"]})
    assert [t["id"] for t in listed["tasks"]] == [task["id"]]

"""crm.deal.*, crm.lead.*, stages and funnels, crm.item.*, user fields, timeline."""

from __future__ import annotations

import pytest


def test_deal_crud_with_stage_semantics(rest):
    deal_id = rest.call("crm.deal.add", {"fields": {"TITLE": "Big", "OPPORTUNITY": 100}})
    deal = rest.call("crm.deal.get", {"id": deal_id})
    assert (deal["ID"], deal["STAGE_ID"], deal["STAGE_SEMANTIC_ID"], deal["CLOSED"]) == (
        str(deal_id), "NEW", "P", "N")
    assert rest.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "WON"}})
    deal = rest.call("crm.deal.get", {"id": deal_id})
    assert (deal["STAGE_SEMANTIC_ID"], deal["CLOSED"]) == ("S", "Y")
    rest.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "LOSE"}})
    assert rest.call("crm.deal.get", {"id": deal_id})["STAGE_SEMANTIC_ID"] == "F"
    assert rest.call("crm.deal.delete", {"id": deal_id}) is True
    assert rest.raw("crm.deal.get", {"id": deal_id}).status_code == 400


def test_funnels_and_their_stages(rest, portal):
    category = portal.add_deal_category("Wholesale")
    deal_id = rest.call("crm.deal.add", {"fields": {"TITLE": "W", "CATEGORY_ID": category}})
    assert rest.call("crm.deal.get", {"id": deal_id})["STAGE_ID"] == f"C{category}:NEW"
    stages = rest.call("crm.status.list", {"filter": {"ENTITY_ID": f"DEAL_STAGE_{category}"}})
    by_id = {s["STATUS_ID"]: s["SEMANTICS"] for s in stages}
    assert by_id[f"C{category}:WON"] == "S" and by_id[f"C{category}:NEW"] is None
    bad = rest.raw("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "WON"}})
    assert bad.status_code == 400
    categories = rest.call("crm.category.list", {"entityTypeId": 2})["categories"]
    assert [c["name"] for c in categories] == ["General", "Wholesale"]


def test_lead_statuses(rest, portal):
    lead_id = rest.call("crm.lead.add", {"fields": {"TITLE": "Lead"}})
    assert rest.call("crm.lead.get", {"id": lead_id})["STATUS_SEMANTIC_ID"] == "P"
    portal.as_user(1).convert_lead(lead_id)
    lead = rest.call("crm.lead.get", {"id": lead_id})
    assert (lead["STATUS_ID"], lead["STATUS_SEMANTIC_ID"]) == ("CONVERTED", "S")
    other = portal.as_user(1).create_lead("Spam")
    portal.as_user(1).junk_lead(other)
    assert portal.lead(other)["STATUS_SEMANTIC_ID"] == "F"
    statuses = rest.call("crm.status.list", {"filter": {"ENTITY_ID": "STATUS"}})
    assert {s["STATUS_ID"] for s in statuses} >= {"NEW", "IN_PROCESS", "CONVERTED", "JUNK"}


def test_list_filter_select_order(rest):
    ids = [rest.call("crm.deal.add", {"fields": {"TITLE": f"d{i}"}}) for i in range(3)]
    rest.call("crm.deal.update", {"id": ids[1], "fields": {"STAGE_ID": "WON"}})
    rows = rest.call("crm.deal.list", {"filter": {"STAGE_SEMANTIC_ID": "S"},
                                       "select": ["ID", "TITLE"]})
    assert rows == [{"ID": str(ids[1]), "TITLE": "d1"}]
    rows = rest.call("crm.deal.list", {"filter": {">ID": ids[0]}, "order": {"ID": "DESC"},
                                       "select": ["ID"]})
    assert [r["ID"] for r in rows] == [str(ids[2]), str(ids[1])]


@pytest.mark.parametrize("kind", ["deal", "lead"])
def test_user_fields_are_readable_and_writable(rest, kind):
    field_id = rest.call(f"crm.{kind}.userfield.add", {"fields": {
        "FIELD_NAME": "TASKBRIDGE_STATUS", "USER_TYPE_ID": "enumeration",
        "LIST": [{"VALUE": "Created", "SORT": 10, "XML_ID": "CREATED"},
                 {"VALUE": "Viewed", "SORT": 20, "XML_ID": "VIEWED"}]}})
    fields = rest.call(f"crm.{kind}.userfield.list", {"filter": {
        "FIELD_NAME": "UF_CRM_TASKBRIDGE_STATUS"}})
    assert [f["ID"] for f in fields] == [str(field_id)]
    viewed = next(v["ID"] for v in fields[0]["LIST"] if v["XML_ID"] == "VIEWED")
    item_id = rest.call(f"crm.{kind}.add", {"fields": {"TITLE": "x"}})
    rest.call(f"crm.{kind}.update", {"id": item_id, "fields": {
        "UF_CRM_TASKBRIDGE_STATUS": viewed}})
    assert rest.call(f"crm.{kind}.get", {"id": item_id})["UF_CRM_TASKBRIDGE_STATUS"] == viewed
    listed = rest.call(f"crm.{kind}.list", {"select": ["ID", "UF_*"]})
    assert listed[0]["UF_CRM_TASKBRIDGE_STATUS"] == viewed
    assert "UF_CRM_TASKBRIDGE_STATUS" not in rest.call(f"crm.{kind}.list", {})[0]
    again = rest.raw(f"crm.{kind}.userfield.add", {"fields": {
        "FIELD_NAME": "TASKBRIDGE_STATUS", "USER_TYPE_ID": "string"}})
    assert again.status_code == 400


def test_crm_item_camel_case(rest, portal):
    field = portal.add_user_field("deal", "TASKBRIDGE_STATUS")
    deal_id = portal.as_user(1).create_deal("Item deal", **{field: "VIEWED"})
    item = rest.call("crm.item.get", {"entityTypeId": 2, "id": deal_id})["item"]
    assert (item["id"], item["title"], item["stageId"], item["categoryId"]) == (
        deal_id, "Item deal", "NEW", 0)
    assert item["ufCrmTaskbridgeStatus"] == "VIEWED"
    body = rest.raw("crm.item.list", {"entityTypeId": 2, "filter": {"stageId": "NEW"}}).json()
    assert [i["id"] for i in body["result"]["items"]] == [deal_id] and body["total"] == 1
    lead_id = portal.as_user(1).create_lead("Item lead")
    lead = rest.call("crm.item.get", {"entityTypeId": 1, "id": lead_id})["item"]
    assert (lead["statusId"], lead["statusSemanticId"]) == ("NEW", "P")
    updated = rest.call("crm.item.update", {"entityTypeId": 2, "id": deal_id,
                                            "fields": {"stageId": "WON"}})
    assert updated["item"]["closed"] == "Y"


def test_timeline_comments_need_lowercase_fields(rest, portal):
    deal_id = portal.as_user(1).create_deal("T")
    refused = rest.raw("crm.timeline.comment.add", {"FIELDS": {
        "ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": "x"}})
    assert refused.status_code == 400
    comment_id = rest.call("crm.timeline.comment.add", {"fields": {
        "ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": "Task finished"}})
    rows = rest.call("crm.timeline.comment.list", {"filter": {
        "ENTITY_ID": deal_id, "ENTITY_TYPE": "deal"}})
    assert [(r["ID"], r["COMMENT"]) for r in rows] == [(str(comment_id), "Task finished")]


def test_timeline_log_messages_page_by_ten(rest, portal):
    deal_id = portal.as_user(1).create_deal("L")
    for index in range(11):
        message = rest.call("crm.timeline.logmessage.add", {"fields": {
            "entityTypeId": 2, "entityId": deal_id, "title": f"m{index}", "text": "t",
            "iconCode": "info"}})
    assert message["logMessage"]["title"] == "m10"
    body = rest.raw("crm.timeline.logmessage.list", {"entityTypeId": 2,
                                                     "entityId": deal_id}).json()
    assert len(body["result"]["logMessages"]) == 10 and body["total"] == 11


@pytest.mark.parametrize("kind", ["deal", "lead"])
def test_relabelling_an_enumeration_field_keeps_option_ids(rest, kind):
    field_id = rest.call(f"crm.{kind}.userfield.add", {"fields": {
        "FIELD_NAME": "TASKBRIDGE_STATUS", "USER_TYPE_ID": "enumeration",
        "EDIT_FORM_LABEL": "Task status",
        "LIST": [{"VALUE": "Created", "XML_ID": "CREATED"},
                 {"VALUE": "Viewed", "XML_ID": "VIEWED"},
                 {"VALUE": "Obsolete", "XML_ID": "OLD"}]}})
    before = {v["XML_ID"]: v["ID"] for v in rest.call(f"crm.{kind}.userfield.list", {
        "filter": {"ID": field_id}})[0]["LIST"]}
    item_id = rest.call(f"crm.{kind}.add", {"fields": {
        "TITLE": "x", "UF_CRM_TASKBRIDGE_STATUS": before["VIEWED"]}})
    assert rest.call(f"crm.{kind}.userfield.update", {"id": field_id, "fields": {
        "EDIT_FORM_LABEL": {"en": "Statut de la tâche"},
        "LIST": [{"ID": before["CREATED"], "VALUE": "Créée"},
                 {"ID": before["VIEWED"], "VALUE": "Vue"},
                 {"ID": before["OLD"], "DEL": "Y"},
                 {"VALUE": "Terminée", "XML_ID": "DONE"},
                 {"VALUE": ""}]}}, form=True) is True
    after = rest.call(f"crm.{kind}.userfield.list", {"filter": {"ID": field_id}})[0]["LIST"]
    assert [(v["ID"], v["VALUE"], v["XML_ID"]) for v in after] == [
        (before["CREATED"], "Créée", "CREATED"), (before["VIEWED"], "Vue", "VIEWED"),
        (after[2]["ID"], "Terminée", "DONE")]
    assert after[2]["ID"] not in before.values()
    assert rest.call(f"crm.{kind}.get", {"id": item_id})[
        "UF_CRM_TASKBRIDGE_STATUS"] == before["VIEWED"]


@pytest.mark.parametrize("kind", ["deal", "lead"])
def test_updating_a_user_field_is_refused_when_it_cannot_be(rest, kind):
    other = "lead" if kind == "deal" else "deal"
    field_id = rest.call(f"crm.{kind}.userfield.add", {"fields": {
        "FIELD_NAME": "TASKBRIDGE_STATUS", "USER_TYPE_ID": "enumeration",
        "LIST": [{"VALUE": "Created", "XML_ID": "CREATED"},
                 {"VALUE": "Viewed", "XML_ID": "VIEWED"}]}})
    missing = rest.raw(f"crm.{kind}.userfield.update", {"id": field_id + 100,
                                                        "fields": {"SORT": 5}})
    assert (missing.status_code, missing.json()["error"]) == (400, "ERROR_NOT_FOUND")
    foreign = rest.raw(f"crm.{other}.userfield.update", {"id": field_id,
                                                         "fields": {"SORT": 5}})
    assert (foreign.status_code, foreign.json()["error"]) == (403, "ACCESS_DENIED")
    duplicate = rest.raw(f"crm.{kind}.userfield.update", {"id": field_id, "fields": {
        "LIST": [{"VALUE": "Added first"}, {"VALUE": "Again", "XML_ID": "VIEWED"}]}})
    assert (duplicate.status_code, duplicate.json()["error"]) == (400, "ERROR_CORE")
    no_id = rest.raw(f"crm.{kind}.userfield.update", {"fields": {"SORT": 5}})
    assert no_id.status_code == 400
    assert len(rest.call(f"crm.{kind}.userfield.list", {})[0]["LIST"]) == 2


def test_a_log_message_is_read_by_anyone_and_deleted_by_its_own_app_only(
        portal, install, make_rest, webhook):
    app = make_rest("oauth", install())
    deal_id = portal.as_user(1).create_deal("L")
    added = app.call("crm.timeline.logmessage.add", {"fields": {
        "entityTypeId": 2, "entityId": deal_id, "title": "Status", "text": "In progress",
        "iconCode": "info"}})["logMessage"]
    assert webhook.call("crm.timeline.logmessage.get", {"id": added["id"]}) == {
        "logMessage": added}
    refused = webhook.raw("crm.timeline.logmessage.delete", {"id": added["id"]})
    assert (refused.status_code, refused.json()["error"]) == (400, "REMOVING_DISABLED")
    assert app.call("crm.timeline.logmessage.delete", {"id": added["id"]}) is True
    gone = app.raw("crm.timeline.logmessage.get", {"id": added["id"]})
    assert (gone.status_code, gone.json()["error"]) == (400, "NOT_FOUND")


def test_a_log_message_needs_an_existing_owner(rest):
    refused = rest.raw("crm.timeline.logmessage.add", {"fields": {
        "entityTypeId": 2, "entityId": 404, "title": "t", "text": "t", "iconCode": "info"}})
    assert (refused.status_code, refused.json()["error"]) == (400, "OWNER_NOT_FOUND")

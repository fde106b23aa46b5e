"""What a kanban card shows: title, stage, the badge of the item's most recently added
badge among its open configurable activities, and the fields the card is set to show."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulator import Portal
from emulator.context import CallContext
from emulator.kanban import render_kanban_card
from tests.emulator.conftest import Rest

BADGES = [
    {"code": "tb_overdue", "type": "failure", "title": {"en": "Task status",
                                                       "it": "Stato attività"},
     "value": {"en": "Overdue", "it": "In ritardo"}},
    {"code": "tb_progress", "type": "primary", "title": {"de": "Status", "en": "Task status"},
     "value": {"de": "In Arbeit", "en": "In progress"}},
    {"code": "tb_done", "type": "success", "title": {"it": "Stato", "de": "Status"},
     "value": {"it": "Completata", "de": "Erledigt"}},
]
LAYOUT = {"icon": {"code": "info"}, "header": {"title": "Tasks"},
          "body": {"logo": {"code": "info"}}}


@pytest.fixture
def app(portal, install, make_rest) -> Rest:
    rest = make_rest("oauth", install())
    for badge in BADGES:
        rest.call("crm.activity.badge.add", badge)
    return rest


@pytest.fixture
def deal_id(portal) -> int:
    return portal.as_user(1).create_deal("Website redesign")


def add(app: Rest, deal_id: int, **fields: Any) -> int:
    return app.call("crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "fields": fields,
        "layout": LAYOUT})["activity"]["id"]


def update(app: Rest, activity_id: int, **fields: Any) -> None:
    app.call("crm.activity.configurable.update", {"id": activity_id, "fields": fields,
                                                  "layout": LAYOUT})


def shown_badge(portal: Portal, deal_id: int, lang: str | None = None) -> Any:
    badge = portal.kanban_card("deal", deal_id, lang)["badge"]
    return badge and (badge["code"], badge["value"])


def test_a_card_shows_title_and_stage_and_no_badge_at_first(portal, deal_id):
    assert portal.kanban_card("deal", deal_id) == {
        "title": "Website redesign", "stage_id": "NEW", "stage_name": "New", "badge": None,
        "fields": {}, "labels": {}, "overdue_activities": 0}


def test_the_badge_of_an_open_activity_shows_and_leaves_when_it_closes(portal, app, deal_id):
    activity_id = add(app, deal_id, badgeCode="tb_progress")
    assert portal.kanban_card("deal", deal_id)["badge"] == {
        "code": "tb_progress", "type": "primary", "title": "Task status",
        "value": "In progress"}
    update(app, activity_id, completed=True)
    assert portal.kanban_card("deal", deal_id)["badge"] is None


def test_the_most_recently_added_badge_wins(portal, app, deal_id):
    first = add(app, deal_id, badgeCode="tb_progress")
    second = add(app, deal_id, badgeCode="tb_overdue")
    assert shown_badge(portal, deal_id) == ("tb_overdue", "Overdue")
    update(app, first, badgeCode="tb_done")  # bound again: now the newest
    assert shown_badge(portal, deal_id, "it") == ("tb_done", "Completata")
    update(app, first, completed=True)
    assert shown_badge(portal, deal_id) == ("tb_overdue", "Overdue")
    update(app, second, completed=True)
    assert shown_badge(portal, deal_id) is None


def test_an_update_without_a_badge_code_keeps_the_order(portal, app, deal_id):
    first = add(app, deal_id, badgeCode="tb_progress")
    add(app, deal_id, badgeCode="tb_overdue")
    update(app, first, originId="x")
    assert shown_badge(portal, deal_id) == ("tb_overdue", "Overdue")


def test_a_deleted_activity_or_badge_leaves_the_card(portal, app, deal_id):
    activity_id = add(app, deal_id, badgeCode="tb_progress")
    add(app, deal_id, badgeCode="tb_overdue")
    app.call("crm.activity.badge.delete", {"code": "tb_overdue"})
    assert shown_badge(portal, deal_id) == ("tb_progress", "In progress")
    app.call("crm.activity.delete", {"id": activity_id})
    assert shown_badge(portal, deal_id) is None


@pytest.mark.parametrize(("code", "lang", "value"), [
    ("tb_overdue", "it", "In ritardo"),   # the language asked for
    ("tb_overdue", "de", "Overdue"),      # else English
    ("tb_done", "en", "Completata"),      # else the first entry
    ("tb_progress", "de", "In Arbeit"),
])
def test_badge_texts_fall_back_to_english_then_the_first_entry(portal, app, deal_id, code,
                                                               lang, value):
    add(app, deal_id, badgeCode=code)
    assert portal.kanban_card("deal", deal_id, lang)["badge"]["value"] == value


def test_the_portal_language_is_the_default():
    italian = Portal(limits=False, language="it")
    italian.register_app("local.app", "secret")
    italian.install_app("local.app", how="event")
    deal_id = italian.as_user(1).create_deal("Sito web")
    as_app = CallContext(1, "oauth", "local.app", ("crm",))
    italian.rest.call(as_app, "crm.activity.badge.add", BADGES[0])
    italian.rest.call(as_app, "crm.activity.configurable.add", {
        "ownerTypeId": 2, "ownerId": deal_id, "fields": {"badgeCode": "tb_overdue"},
        "layout": LAYOUT})
    assert italian.kanban_card("deal", deal_id)["badge"]["title"] == "Stato attività"
    assert italian.kanban_card("deal", deal_id, "en")["badge"]["title"] == "Task status"


def status_field(app: Rest, label: str = "Task status") -> tuple[str, dict[str, str]]:
    """TaskBridge's status field: its name and option ids by label."""
    app.call("crm.deal.userfield.add", {"fields": {
        "FIELD_NAME": "TASKBRIDGE_STATUS", "USER_TYPE_ID": "enumeration",
        "EDIT_FORM_LABEL": label, "LIST": [{"VALUE": "In progress"}, {"VALUE": "Overdue"}]}})
    field = app.call("crm.deal.userfield.list", {"filter": {
        "FIELD_NAME": "UF_CRM_TASKBRIDGE_STATUS"}})[0]
    return field["FIELD_NAME"], {o["VALUE"]: o["ID"] for o in field["LIST"]}


def test_the_card_shows_the_fields_its_settings_pick(portal, app, deal_id):
    field, options = status_field(app)
    app.call("crm.deal.update", {"id": deal_id, "fields": {field: options["Overdue"]}})
    assert portal.kanban_card("deal", deal_id)["fields"] == {}
    portal.set_kanban_card_fields("deal", [field])
    card = portal.kanban_card("deal", deal_id)
    assert (card["fields"], card["labels"]) == ({field: "Overdue"}, {field: "Task status"})
    with pytest.raises(ValueError):
        portal.set_kanban_card_fields("deal", ["UF_CRM_NO_SUCH"])


def test_an_activity_without_deadline_never_counts_as_overdue(portal, app, deal_id):
    add(app, deal_id, badgeCode="tb_progress")
    add(app, deal_id, deadline="2026-01-01T10:00:00+00:00")
    add(app, deal_id, deadline="2026-01-01T10:00:00+00:00", completed=True)
    portal.advance_time(10 * 365 * 86400)
    assert portal.kanban_card("deal", deal_id)["overdue_activities"] == 1


def test_a_lead_card_shows_its_status(portal, app):
    lead_id = portal.as_user(1).create_lead("Inbound call", status_id="IN_PROCESS")
    app.call("crm.activity.configurable.add", {
        "ownerTypeId": 1, "ownerId": lead_id, "fields": {"badgeCode": "tb_overdue"},
        "layout": LAYOUT})
    card = portal.kanban_card("lead", lead_id)
    assert (card["stage_id"], card["badge"]["code"]) == ("IN_PROCESS", "tb_overdue")
    assert [a["ownerId"] for a in portal.configurable_activities("lead", lead_id)] == [lead_id]


def test_the_card_renders_as_exact_text(portal, app, deal_id):
    field, options = status_field(app)
    app.call("crm.deal.update", {"id": deal_id, "fields": {field: options["Overdue"]}})
    portal.set_kanban_card_fields("deal", [field])
    add(app, deal_id, badgeCode="tb_overdue")
    assert render_kanban_card(portal.kanban_card("deal", deal_id)) == "\n".join([
        "+--------------------------------------+",
        "| Website redesign                     |",
        "| Stage: New                           |",
        "| [OVERDUE] Task status (red)          |",
        "| Task status: Overdue                 |",
        "+--------------------------------------+",
    ])


def test_the_control_api_reads_cards_and_sets_their_fields(portal, server, app, deal_id):
    field, _ = status_field(app)
    add(app, deal_id, badgeCode="tb_overdue")
    base = f"{server.url}/_emulator/kanban/deal"
    assert requests.post(f"{base}/fields", json={"fields": [field]}, timeout=5).json() == {
        "fields": [field]}
    assert requests.get(f"{base}/fields", timeout=5).json() == {"fields": [field]}
    card = requests.get(f"{base}/{deal_id}", params={"lang": "it"}, timeout=5).json()
    assert card["badge"]["value"] == "In ritardo"
    text = requests.get(f"{base}/{deal_id}/text", timeout=5).json()["text"]
    assert "[OVERDUE] Task status (red)" in text
    activities = requests.get(f"{base}/{deal_id}/activities", timeout=5).json()
    assert [a["fields"]["badgeCode"] for a in activities] == ["tb_overdue"]
    missing = requests.get(f"{base}/{deal_id + 50}", timeout=5)
    assert missing.status_code == 400

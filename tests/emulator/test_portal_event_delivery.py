"""Online events: form-encoded POSTs with PHP brackets, only where a real portal sends them."""

from __future__ import annotations

import pytest


@pytest.fixture
def bound(portal, receiver, install, make_rest):
    """The app installed and bound to task and deal events at the receiver."""
    app = make_rest("oauth", install())
    for event in ("ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONTASKCOMMENTADD",
                  "ONCRMDEALUPDATE", "ONCRMDEALMOVETOCATEGORY", "ONCRMLEADUPDATE"):
        app.call("event.bind", {"event": event, "handler": f"{receiver.url}/bitrix/events"})
    return app


def test_task_add_payload_matches_the_docs(portal, bound, receiver):
    task_id = portal.as_user(1).create_task(title="t")
    got = receiver.wait_for(lambda r: len(r) >= 1)[0]
    form = got.form
    assert form["event"] == "ONTASKADD" and form["event_handler_id"].isdigit()
    assert form["data[FIELDS_BEFORE]"] == "undefined"
    assert form["data[FIELDS_AFTER][ID]"] == str(task_id)
    assert form["ts"].isdigit()
    for key in ("domain", "client_endpoint", "server_endpoint", "member_id",
                "application_token", "status", "scope", "access_token", "expires_in",
                "user_id"):
        assert form[f"auth[{key}]"], key
    assert form["auth[member_id]"] == portal.member_id
    assert form["auth[application_token]"] == portal.app("local.taskbridge.test").application_token


def test_every_update_fires_ontaskupdate_even_the_apps_own(portal, bound, receiver):
    task_id = portal.as_user(1).create_task(title="t")
    bound.call("tasks.task.update", {"taskId": task_id, "fields": {"TAGS": ["CRM"]}})
    bound.call("tasks.task.start", {"taskId": task_id})
    got = receiver.wait_for(lambda r: len(r) >= 3)
    assert [r.form["event"] for r in got] == ["ONTASKADD", "ONTASKUPDATE", "ONTASKUPDATE"]
    assert got[1].form["data[FIELDS_BEFORE][ID]"] == str(task_id)


def test_silent_changes_fire_nothing(portal, bound, receiver):
    colleague = portal.add_user("C")
    task_id = portal.as_user(1).create_task(title="t", responsible=colleague,
                                            deadline="2001-01-01T00:00:00+00:00")
    item = portal.as_user(1).add_checklist_item(task_id, "step")
    receiver.wait_for(lambda r: len(r) >= 2)
    portal.as_user(colleague).open_task(task_id)
    portal.as_user(1).tick_checklist_item(item)
    portal.advance_time(3600)
    portal.as_user(1).add_result(task_id, "Summary")
    got = receiver.wait_for(lambda r: len(r) >= 3)
    portal.sender.wait_idle()
    assert [r.form["event"] for r in receiver.requests] == [
        "ONTASKADD", "ONTASKUPDATE", "ONTASKCOMMENTADD"]
    assert got[2].form["data[FIELDS_AFTER][TASK_ID]"] == str(task_id)


def test_crm_events_carry_only_the_id(portal, bound, receiver):
    actor = portal.as_user(1)
    deal_id = actor.create_deal("d")
    category = portal.add_deal_category("Other")
    actor.move_deal(deal_id, "WON")
    actor.move_deal_to_category(deal_id, category)
    got = receiver.wait_for(lambda r: len(r) >= 2)
    assert [r.form["event"] for r in got] == ["ONCRMDEALUPDATE", "ONCRMDEALMOVETOCATEGORY"]
    assert {k for k in got[0].form if k.startswith("data")} == {"data[FIELDS][ID]"}


def test_failed_delivery_is_logged_and_dropped(portal, bound, receiver):
    receiver.status = 500
    portal.as_user(1).create_task(title="t")
    done = portal.wait_for_deliveries(lambda d: any(x.event == "ONTASKADD" for x in d))
    assert [d.status for d in done if d.event == "ONTASKADD"] == [500]
    portal.sender.wait_idle()
    assert len(receiver.events("ONTASKADD")) == 1


def test_unreachable_handler_is_dropped(portal, install, make_rest):
    app = make_rest("oauth", install())
    app.call("event.bind", {"event": "ONTASKADD", "handler": "http://127.0.0.1:9/x"})
    portal.as_user(1).create_task(title="t")
    done = portal.wait_for_deliveries(lambda d: any(x.event == "ONTASKADD" for x in d))
    assert next(d for d in done if d.event == "ONTASKADD").error


def test_bind_get_unbind(bound, receiver):
    handler = f"{receiver.url}/bitrix/events"
    again = bound.raw("event.bind", {"event": "ONTASKADD", "handler": handler})
    assert again.json()["error"] == "ERROR_HANDLER_ALREADY_EXIST"
    listed = bound.call("event.get")
    assert {"event": "ONTASKADD", "handler": handler, "auth_type": "0", "offline": 0} in listed
    assert bound.call("event.unbind", {"event": "ONTASKADD", "handler": handler}) == {
        "count": 1}
    assert bound.call("event.unbind", {"event": "ONTASKADD", "handler": handler}) == {
        "count": 0}


def test_placements(bound):
    bound.call("placement.bind", {"PLACEMENT": "CRM_DEAL_DETAIL_TAB",
                                  "HANDLER": "http://127.0.0.1:9/p", "TITLE": "TaskBridge"})
    assert [p["placement"] for p in bound.call("placement.get")] == ["CRM_DEAL_DETAIL_TAB"]
    assert bound.call("placement.unbind", {"PLACEMENT": "CRM_DEAL_DETAIL_TAB"}) == {"count": 1}

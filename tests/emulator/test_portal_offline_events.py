"""Offline events: latest change per object, process_id reservation, clear, error."""

from __future__ import annotations

import pytest


@pytest.fixture
def app(install, make_rest):
    client = make_rest("oauth", install())
    client.call("event.bind", {"event": "ONCRMDEALUPDATE", "event_type": "offline",
                               "auth_connector": CONNECTOR})
    return client


CONNECTOR = "taskbridge"


def test_latest_change_per_object(portal, app):
    actor = portal.as_user(1)
    first, second = actor.create_deal("a"), actor.create_deal("b")
    actor.move_deal(first, "PREPARATION")
    actor.move_deal(first, "EXECUTING")
    actor.move_deal(second, "WON")
    listed = app.call("event.offline.list")
    assert len(listed) == 2
    got = app.call("event.offline.get", {"clear": 1, "auth_connector": CONNECTOR})
    assert got["process_id"] is None
    assert [e["EVENT_DATA"]["FIELDS"]["ID"] for e in got["events"]] == [str(first),
                                                                         str(second)]
    assert app.call("event.offline.get", {"auth_connector": CONNECTOR})["events"] == []


def test_reservation_then_clear_or_error(portal, app):
    actor = portal.as_user(1)
    deal_id = actor.create_deal("a")
    actor.move_deal(deal_id, "WON")
    reserved = app.call("event.offline.get", {"clear": 0, "auth_connector": CONNECTOR})
    assert reserved["process_id"] and len(reserved["events"]) == 1
    assert app.call("event.offline.get", {"clear": 0, "auth_connector": CONNECTOR})["events"] == []
    actor.move_deal(deal_id, "LOSE")  # the reserved record stays; a new one is queued
    assert len(app.call("event.offline.list")) == 2
    message = reserved["events"][0]["MESSAGE_ID"]
    app.call("event.offline.error", {"process_id": reserved["process_id"],
                                     "message_id": [message]})
    errors = app.call("event.offline.get", {"error": 1, "clear": 0,
                                            "auth_connector": CONNECTOR})
    assert [e["MESSAGE_ID"] for e in errors["events"]] == [message]
    app.call("event.offline.clear", {"process_id": errors["process_id"],
                                     "message_id": [message]})
    assert len(app.call("event.offline.list")) == 1


def test_auth_connector_keeps_the_apps_own_writes_out(portal, app):
    deal_id = portal.as_user(1).create_deal("a")
    app.call("crm.deal.update", {"id": deal_id, "fields": {"TITLE": "mine"},
                                 "auth_connector": "taskbridge"})
    assert app.call("event.offline.list") == []
    app.call("crm.deal.update", {"id": deal_id, "fields": {"TITLE": "no connector"}})
    assert len(app.call("event.offline.list")) == 1


def test_each_auth_connector_is_its_own_queue(portal, app):
    """Events bound with an auth_connector are read by naming it in event.offline.get."""
    app.call("event.bind", {"event": "ONCRMDEALADD", "event_type": "offline"})
    deal_id = portal.as_user(1).create_deal("a")
    portal.as_user(1).move_deal(deal_id, "PREPARATION")
    plain = app.call("event.offline.get", {"clear": 0})
    assert [e["EVENT_NAME"] for e in plain["events"]] == ["ONCRMDEALADD"]
    named = app.call("event.offline.get", {"clear": 0, "auth_connector": CONNECTOR})
    assert [e["EVENT_NAME"] for e in named["events"]] == ["ONCRMDEALUPDATE"]

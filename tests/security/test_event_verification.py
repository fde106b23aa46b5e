"""Events are believed only with their portal's application token, and never send
TaskBridge to an address the event names."""

from __future__ import annotations

import copy
from typing import Any

from tests.security.conftest import Listener, post_event
from tests.support.stack import TaskBridge


def test_the_valid_event_is_journaled(secured: TaskBridge, deal_event: dict[str, Any]) -> None:
    before = secured.journal.count()
    answer = post_event(secured, deal_event)
    assert answer.status_code == 200
    assert secured.journal.count() == before + 1


def test_a_forged_application_token_is_refused_and_not_journaled(
    secured: TaskBridge, deal_event: dict[str, Any]
) -> None:
    forged = copy.deepcopy(deal_event)
    forged["auth"]["application_token"] = "f" * 32
    before = secured.journal.count()
    answer = post_event(secured, forged)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_application_token"
    assert secured.journal.count() == before


def test_a_missing_application_token_is_refused(secured: TaskBridge,
                                                 deal_event: dict[str, Any]) -> None:
    forged = copy.deepcopy(deal_event)
    del forged["auth"]["application_token"]
    before = secured.journal.count()
    assert post_event(secured, forged).status_code in (400, 401)
    assert secured.journal.count() == before


def test_another_portals_member_id_is_refused(secured: TaskBridge,
                                               deal_event: dict[str, Any]) -> None:
    from tests.support.stack import emulated_portal, taskbridge_for

    with emulated_portal(limits=False) as other_portal, taskbridge_for(
        other_portal, secured.settings.database_url,
        secured.settings.secret_key.get_secret_value(),
    ) as other:
        other.install("page")
        other.drain()
        # Portal A's own token, but claiming to be portal B (installed on the same server).
        forged = copy.deepcopy(deal_event)
        forged["auth"]["member_id"] = other_portal.member_id
        mine = secured.portal.member_id
        before = secured.journal.count(member_id=mine), other.journal.count(
            member_id=other_portal.member_id)
        assert post_event(secured, forged).status_code == 401
        # And portal B's event with portal A's member_id.
        other_portal.as_user(1).create_deal("B's deal")
        assert other_portal.sender.wait_idle(timeout=10)
        theirs = copy.deepcopy([d for d in other_portal.delivered_events
                                if d.event == "ONCRMDEALADD"][-1].payload)
        theirs["auth"]["member_id"] = secured.portal.member_id
        assert post_event(secured, theirs).status_code == 401
        assert other_portal.sender.wait_idle(timeout=10)
        after = secured.journal.count(member_id=mine), other.journal.count(
            member_id=other_portal.member_id)
        assert after == (before[0], before[1] + 1)  # only B's own delivery of its deal


def test_an_unknown_member_id_is_refused(secured: TaskBridge,
                                         deal_event: dict[str, Any]) -> None:
    forged = copy.deepcopy(deal_event)
    forged["auth"]["member_id"] = "0" * 32
    before = secured.journal.count()
    assert post_event(secured, forged).status_code == 401
    assert secured.journal.count() == before


def test_a_forged_event_pointing_elsewhere_contacts_nobody(
    secured: TaskBridge, deal_event: dict[str, Any], stray_listener: Listener
) -> None:
    forged = copy.deepcopy(deal_event)
    forged["auth"].update(application_token="0" * 32,
                          client_endpoint=f"{stray_listener.url}/rest/",
                          server_endpoint=f"{stray_listener.url}/rest/",
                          domain=stray_listener.url.split("//")[1])
    secured.drain()  # the real deal's own event
    calls_before = secured.rest_calls
    assert post_event(secured, forged).status_code == 401
    assert secured.drain() == 0
    assert stray_listener.requests == []
    assert secured.rest_calls == calls_before


def test_a_valid_event_naming_another_host_is_served_from_the_stored_endpoint(
    secured: TaskBridge, deal_event: dict[str, Any], stray_listener: Listener
) -> None:
    redirected = copy.deepcopy(deal_event)
    redirected["auth"].update(client_endpoint=f"{stray_listener.url}/rest/",
                              server_endpoint=f"{stray_listener.url}/rest/",
                              domain=stray_listener.url.split("//")[1])
    secured.drain()  # the original delivery, so this one is not a duplicate of it
    assert post_event(secured, redirected).status_code == 200
    secured.drain()
    assert stray_listener.requests == []
    row = secured.journal.rows()[-1]
    assert row["state"] == "done"
    assert secured.rest_calls > 0  # fetched, from the portal's stored endpoint only


def test_an_install_event_naming_another_host_is_refused_without_calling_it(
    secured: TaskBridge, deal_event: dict[str, Any], stray_listener: Listener
) -> None:
    import requests

    from emulator import php_form

    auth = {**deal_event["auth"], "client_endpoint": f"{stray_listener.url}/rest/",
            "server_endpoint": f"{stray_listener.url}/rest/", "member_id": "1" * 32,
            "refresh_token": "not-a-real-refresh-token", "application_token": "2" * 32,
            "domain": stray_listener.url.split("//")[1]}
    answer = requests.post(
        f"{secured.url}/bitrix/install",
        data=php_form.encode({"event": "ONAPPINSTALL", "data": {"VERSION": "1"},
                              "auth": auth}),
        headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert 400 <= answer.status_code < 500
    assert stray_listener.requests == []
    assert secured.storage.portals.find("1" * 32) is None

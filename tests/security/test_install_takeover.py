"""Install takeover and wipe: what a hostile portal user can send, and what comes back.

Every user who opens TaskBridge receives an AUTH_ID/REFRESH_ID pair in the placement
POST. Such a user (here: a clerk, not an administrator) tries to install TaskBridge
with an application token of their choosing, to bring one in with ONAPPUPDATE, and then
to wipe the portal's data with a forged ONAPPUNINSTALL. Only a portal administrator's
install stores anything, and every event must carry the stored application token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from emulator import php_form
from emulator.oauth import TokenPair
from tests.security.conftest import post_event
from tests.support.stack import CLIENT_ID, TaskBridge

ATTACKER_TOKEN = "attacker-chosen-application-token"


@pytest.fixture
def clerk(secured: TaskBridge) -> TokenPair:
    """The tokens a non-admin user gets in the placement POST when opening the app."""
    clerk_id = secured.portal.add_user("Carla", "Clerk")
    return secured.portal.issue_tokens(CLIENT_ID, clerk_id)


def _identity(bridge: TaskBridge) -> tuple[Any, ...]:
    """What a takeover would change about the stored portal."""
    stored = bridge.stored()
    return (stored.application_token_hash, stored.access_token, stored.refresh_token,
            stored.token_version, stored.state, stored.client_endpoint, stored.domain)


def _install_page_post(bridge: TaskBridge, tokens: TokenPair,
                       application_token: str) -> requests.Response:
    """The install page's form, as the clerk's browser can post it."""
    portal = bridge.portal
    return requests.post(
        f"{bridge.url}/bitrix/install",
        params={"DOMAIN": portal.domain, "PROTOCOL": "0", "LANG": "en", "APP_SID": "x"},
        data={"AUTH_ID": tokens.access_token, "AUTH_EXPIRES": "3600",
              "REFRESH_ID": tokens.refresh_token, "SERVER_ENDPOINT": f"{portal.url}/rest/",
              "APPLICATION_TOKEN": application_token, "APPLICATION_SCOPE": "crm,task",
              "member_id": portal.member_id, "status": "L", "PLACEMENT": "DEFAULT",
              "PLACEMENT_OPTIONS": json.dumps({})},
        timeout=10,
    )


def _lifecycle_event(bridge: TaskBridge, event: str, data: dict[str, str],
                     application_token: str, tokens: TokenPair | None) -> dict[str, Any]:
    """An ONAPP* event in the portal's own form, with the sender's choice of tokens."""
    portal = bridge.portal
    auth = {"domain": portal.domain, "client_endpoint": portal.client_endpoint,
            "server_endpoint": f"{portal.url}/rest/", "member_id": portal.member_id,
            "status": "L", "scope": "crm,task", "application_token": application_token}
    if tokens is not None:
        auth.update(access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                    expires_in="3600", user_id=str(tokens.user_id))
    return {"event": event, "data": data, "ts": "1700000000", "auth": auth}


def _post_install_event(bridge: TaskBridge, payload: dict[str, Any]) -> requests.Response:
    return requests.post(f"{bridge.url}/bitrix/install", data=php_form.encode(payload),
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         timeout=10)


def _genuine_event_is_accepted(bridge: TaskBridge) -> None:
    portal = bridge.portal
    deal = portal.as_user(1).create_deal("Genuine deal after the attempt")
    delivered = portal.wait_for_deliveries(
        lambda sent: any(d.event == "ONCRMDEALADD" and d.payload["data"]["FIELDS"]["ID"]
                         == str(deal) and d.status for d in sent), timeout=10)
    answer = next(d for d in delivered if d.event == "ONCRMDEALADD"
                  and d.payload["data"]["FIELDS"]["ID"] == str(deal))
    assert answer.status == 200, answer.error


def test_a_non_admins_install_page_post_is_refused(secured: TaskBridge, clerk: TokenPair,
                                                   deal_event: dict[str, Any]) -> None:
    before = _identity(secured)
    response = _install_page_post(secured, clerk, ATTACKER_TOKEN)
    assert response.status_code == 403
    assert response.json()["error"] == "install_refused"
    assert "administrator" in response.json()["error_description"]
    assert _identity(secured) == before
    forged = {**deal_event, "auth": {**deal_event["auth"], "application_token": ATTACKER_TOKEN}}
    assert post_event(secured, forged).status_code == 401
    _genuine_event_is_accepted(secured)


def test_a_non_admins_forged_onappinstall_is_refused(secured: TaskBridge,
                                                     clerk: TokenPair) -> None:
    before = _identity(secured)
    forged = _lifecycle_event(secured, "ONAPPINSTALL",
                              {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y",
                               "LANGUAGE_ID": "en"}, ATTACKER_TOKEN, clerk)
    response = _post_install_event(secured, forged)
    assert response.status_code == 403
    assert response.json()["error"] == "install_refused"
    assert _identity(secured) == before
    _genuine_event_is_accepted(secured)


def test_onappupdate_cannot_bring_a_new_application_token(secured: TaskBridge,
                                                          clerk: TokenPair) -> None:
    before = _identity(secured)
    forged = _lifecycle_event(secured, "ONAPPUPDATE", {"VERSION": "2", "LANGUAGE_ID": "en"},
                              ATTACKER_TOKEN, clerk)
    response = post_event(secured, forged)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_application_token"
    assert _identity(secured) == before
    assert secured.journal.count(event="ONAPPUPDATE") == 0
    # The portal's own update carries the stored token and is still accepted.
    delivery = secured.portal.update_app(CLIENT_ID)
    assert delivery is not None and delivery.done.wait(10)
    assert delivery.status == 200, delivery.error
    assert secured.journal.count(event="ONAPPUPDATE") == 1
    assert secured.stored().application_token_hash == before[0]


def test_a_forged_clean_uninstall_deletes_nothing(secured: TaskBridge, clerk: TokenPair,
                                                  deal_event: dict[str, Any]) -> None:
    member_id = secured.portal.member_id
    journaled = secured.journal.count()
    assert journaled > 0  # the deal the portal reported
    # The takeover attempts first: if either stored the attacker's token, the wipe works.
    assert _install_page_post(secured, clerk, ATTACKER_TOKEN).status_code == 403
    update = _lifecycle_event(secured, "ONAPPUPDATE", {"VERSION": "2"}, ATTACKER_TOKEN, clerk)
    assert post_event(secured, update).status_code == 401
    wipe = _lifecycle_event(secured, "ONAPPUNINSTALL", {"CLEAN": "1", "LANGUAGE_ID": "en"},
                            ATTACKER_TOKEN, None)
    response = post_event(secured, wipe)
    assert response.status_code == 401
    stored = secured.storage.portals.find(member_id)
    assert stored is not None and stored.state == "installed"
    assert secured.journal.count() == journaled
    _genuine_event_is_accepted(secured)


@pytest.mark.parametrize("how", ["page", "event"])
def test_an_admins_reinstall_with_a_new_token_replaces_it(secured: TaskBridge,
                                                           deal_event: dict[str, Any],
                                                           how: str) -> None:
    emulator = secured.portal.emulator
    old_token = emulator.app(CLIENT_ID).application_token
    second_admin = emulator.add_user("Ada", "Admin", admin=True)
    done = emulator.install_app(CLIENT_ID, how=how, user_id=second_admin,
                                handler_url=f"{secured.url}/bitrix/install")
    if how == "event":
        emulator.wait_for_deliveries(
            lambda sent: any(d.event == "ONAPPINSTALL" and d.status for d in sent), timeout=10)
    emulator.finish_install(CLIENT_ID)
    assert done.application_token != old_token
    stored = secured.stored()
    assert stored.application_token_matches(done.application_token)
    assert not stored.application_token_matches(old_token)
    assert post_event(secured, deal_event).status_code == 401  # signed with the old token
    _genuine_event_is_accepted(secured)
    # TaskBridge now calls the portal with the tokens the administrator's install gave.
    assert stored.refresh_token != done.tokens.refresh_token  # exchanged once, at install
    assert emulator.call_log.records()[-1].user_id == second_admin


@pytest.mark.parametrize("how", ["page", "event"])
def test_a_first_install_by_a_non_admin_stores_no_portal(taskbridge: TaskBridge,
                                                         how: str) -> None:
    emulator = taskbridge.portal.emulator
    clerk_id = emulator.add_user("Carla", "Clerk")
    done = emulator.install_app(CLIENT_ID, how=how, user_id=clerk_id,
                                handler_url=f"{taskbridge.url}/bitrix/install")
    if how == "event":
        emulator.wait_for_deliveries(
            lambda sent: any(d.event == "ONAPPINSTALL" and d.status for d in sent), timeout=10)
    delivered = next(d for d in emulator.delivered_events
                     if d.event in ("INSTALL_PAGE", "ONAPPINSTALL"))
    assert delivered.status == 403
    assert taskbridge.storage.portals.find(emulator.member_id) is None
    assert [r.method for r in emulator.call_log.records()] == ["user.admin"]
    assert done.tokens.user_id == clerk_id

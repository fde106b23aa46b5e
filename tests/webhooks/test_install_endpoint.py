"""Installing into a portal, both documented ways: the portal then shows every binding,
the status field and the placements; re-install is idempotent; drift is repaired."""

from __future__ import annotations

import requests

from connector.portals.install import PLACEMENTS, STATUS_FIELD
from mappers.portal_events import BOUND_EVENTS, OFFLINE_EVENTS
from tests.support.stack import CLIENT_ID, TaskBridge


def _portal_setup(taskbridge: TaskBridge) -> dict[str, set]:
    emulator = taskbridge.portal.emulator
    bindings = emulator.events.bindings_of(CLIENT_ID)
    return {
        "online": {(b.event, b.handler) for b in bindings if not b.offline},
        "offline": {b.event for b in bindings if b.offline},
        "fields": {(f.entity_id, f.field_name) for f in emulator.state.user_fields.values()},
        "placements": {(p.placement, p.handler) for p in emulator.state.placements.values()},
    }


def _assert_fully_set_up(taskbridge: TaskBridge) -> None:
    setup = _portal_setup(taskbridge)
    events_url = f"{taskbridge.url}/bitrix/events"
    assert setup["online"] == {(name, events_url) for name in BOUND_EVENTS}
    assert setup["offline"] == set(OFFLINE_EVENTS)
    assert {("CRM_DEAL", STATUS_FIELD), ("CRM_LEAD", STATUS_FIELD)} <= setup["fields"]
    placement_url = f"{taskbridge.url}/bitrix/placement"
    assert setup["placements"] == {(code, placement_url) for code in PLACEMENTS}


def _requests(taskbridge: TaskBridge) -> list[str]:
    """The methods of the requests TaskBridge sent, in order (a batch once)."""
    return [r.method for r in taskbridge.portal.call_log.records() if not r.in_batch]


def test_install_page_post_sets_the_portal_up(taskbridge: TaskBridge) -> None:
    stored = taskbridge.install("page")
    assert stored.state == "installed"
    assert stored.client_endpoint == taskbridge.portal.client_endpoint
    assert stored.application_token_matches(taskbridge.portal.app(CLIENT_ID).application_token)
    _assert_fully_set_up(taskbridge)
    page = next(d for d in taskbridge.portal.delivered_events if d.event == "INSTALL_PAGE")
    assert page.status == 200


def test_onappinstall_event_sets_the_portal_up(taskbridge: TaskBridge) -> None:
    stored = taskbridge.install("event")
    assert stored.state == "installed"
    _assert_fully_set_up(taskbridge)


def test_the_install_costs_three_requests_and_a_reinstall_two(taskbridge: TaskBridge) -> None:
    taskbridge.install("page")
    methods = _requests(taskbridge)
    assert methods == ["user.admin", "batch", "batch"], methods
    before = _portal_setup(taskbridge)
    taskbridge.install("page")
    methods = _requests(taskbridge)
    assert methods[3:] == ["user.admin", "batch"]  # the admin check, then only the read batch
    assert _portal_setup(taskbridge) == before


def test_a_drifted_portal_is_repaired(taskbridge: TaskBridge) -> None:
    taskbridge.install("page")
    emulator = taskbridge.portal.emulator
    removed = emulator.events.unbind(CLIENT_ID, "ONTASKUPDATE", f"{taskbridge.url}/bitrix/events",
                                     offline=False)
    assert removed == 1
    assert "ONTASKUPDATE" not in {e for e, _ in _portal_setup(taskbridge)["online"]}
    taskbridge.install("page")
    _assert_fully_set_up(taskbridge)


def test_a_forged_install_is_refused(taskbridge: TaskBridge) -> None:
    response = requests.post(
        f"{taskbridge.url}/bitrix/install",
        params={"DOMAIN": "evil.example", "PROTOCOL": "1", "LANG": "en"},
        data={"AUTH_ID": "x", "REFRESH_ID": "not-a-real-refresh-token",
              "APPLICATION_TOKEN": "t", "member_id": taskbridge.portal.member_id},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["error"] == "install_refused"
    assert taskbridge.storage.portals.find(taskbridge.portal.member_id) is None


def test_an_install_without_tokens_is_a_bad_request(taskbridge: TaskBridge) -> None:
    response = requests.post(f"{taskbridge.url}/bitrix/install", data={"member_id": "m"},
                             timeout=10)
    assert response.status_code == 400
    assert "REFRESH_ID" in response.json()["error_description"]


def test_events_from_the_portal_land_in_the_journal(taskbridge: TaskBridge) -> None:
    taskbridge.install("page")
    manager = taskbridge.portal.add_user("Maria", "Rossi")
    deal = taskbridge.portal.as_user(manager).create_deal("Contract", assigned_by=manager)
    task = taskbridge.portal.as_user(manager).create_task(f"D_{deal}", title="Prepare the contract",
                                                          responsible=manager)
    taskbridge.portal.wait_for_deliveries(
        lambda sent: any(d.event == "ONTASKADD" and d.status for d in sent), timeout=10
    )
    rows = taskbridge.journal.rows()
    keys = {(row["event"], row["object_key"]) for row in rows}
    assert ("ONCRMDEALADD", f"deal:{deal}") in keys
    assert ("ONTASKADD", f"task:{task}") in keys
    assert all(row["state"] == "pending" for row in rows)


def test_app_update_keeps_the_token_and_uninstall_clean_removes_everything(
    taskbridge: TaskBridge,
) -> None:
    taskbridge.install("page")
    emulator = taskbridge.portal.emulator
    token = emulator.app(CLIENT_ID).application_token
    delivery = emulator.update_app(CLIENT_ID)
    delivery.done.wait(10)
    assert delivery.status == 200, delivery.error
    assert emulator.app(CLIENT_ID).application_token == token
    assert taskbridge.stored().application_token_matches(token)
    assert taskbridge.journal.count(event="ONAPPUPDATE", state="pending") == 1
    # The portal dropped the bindings on update; the journaled ONAPPUPDATE re-binds
    # them in the worker. Re-install stands in for it here and uninstall must still reach us.
    taskbridge.install("page")
    delivery = emulator.uninstall_app(CLIENT_ID, clean=True)
    delivery.done.wait(10)
    assert delivery.status == 200, delivery.error
    assert taskbridge.storage.portals.find(emulator.member_id) is None
    assert taskbridge.journal.count() == 0

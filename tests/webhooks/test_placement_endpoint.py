"""`POST /bitrix/placement`: a verified portal admin gets a session held to their portal;
opening the app costs the portal one REST request."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import insert

from connector.storage.portals import Installation
from connector.storage.schema import journal
from tests.support.stack import CLIENT_ID


def open_app(taskbridge: Any, user_id: int, **extra: str) -> requests.Response:
    emulator = taskbridge.portal.emulator
    token = emulator.issue_tokens(CLIENT_ID, user_id).access_token
    session = requests.Session()
    form = {"AUTH_ID": token, "AUTH_EXPIRES": "3600", "member_id": emulator.member_id,
            "status": "L", "PLACEMENT": "DEFAULT", "PLACEMENT_OPTIONS": "{}", **extra}
    answer = session.post(f"{taskbridge.url}/bitrix/placement?DOMAIN=x&LANG=it", data=form,
                          timeout=10)
    answer.session = session  # type: ignore[attr-defined]
    return answer


def other_portal_row(taskbridge: Any) -> int:
    other = taskbridge.storage.portals.save(Installation(
        member_id="other-portal", domain="other.example",
        client_endpoint="https://other.example/rest/"))
    with taskbridge.storage.engine.begin() as conn:
        return conn.execute(insert(journal).values(
            portal_id=other.id, member_id="other-portal", received_at=other.installed_at,
            source="online", event="ONTASKADD", object_key="task:1", object_type="task",
            object_id="1", payload={}, dedupe_key="x", state="dead", attempts=1,
        ).returning(journal.c.id)).scalar_one()


def test_a_portal_admin_lands_on_their_portals_log(taskbridge: Any) -> None:
    taskbridge.install()
    other = other_portal_row(taskbridge)
    answer = open_app(taskbridge, 1)
    assert answer.status_code == 200 and answer.url.endswith("/admin/")
    assert "Registro" in answer.text  # LANG=it from the portal
    session = answer.session  # type: ignore[attr-defined]
    assert f'data-id="{other}"' not in answer.text
    hidden = session.get(f"{taskbridge.url}/admin/events/{other}", timeout=10)
    assert hidden.status_code == 404
    foreign = session.get(f"{taskbridge.url}/admin/portals/other-portal/settings", timeout=10)
    assert foreign.status_code == 403
    asked = session.get(f"{taskbridge.url}/admin/?portal=2", timeout=10)
    assert f'data-id="{other}"' not in asked.text
    own = session.get(f"{taskbridge.url}/admin/settings", timeout=10)
    assert own.url.endswith(f"/admin/portals/{taskbridge.portal.member_id}/settings")


def test_a_user_who_is_not_an_admin_is_refused(taskbridge: Any) -> None:
    taskbridge.install()
    user = taskbridge.portal.emulator.add_user("Mario", "Rossi")
    answer = open_app(taskbridge, user)
    assert answer.status_code == 403
    assert answer.json()["error"] == "not_portal_admin"


def test_a_token_the_portal_does_not_know_is_refused(taskbridge: Any) -> None:
    taskbridge.install()
    answer = open_app(taskbridge, 1, AUTH_ID="made-up-token")
    assert answer.status_code == 401 and answer.json()["error"] == "auth_refused"


def test_an_unknown_portal_is_refused_without_calling_anyone(taskbridge: Any) -> None:
    taskbridge.install()
    calls = taskbridge.portal.emulator.call_log.count()
    answer = open_app(taskbridge, 1, member_id="nobody")
    assert answer.status_code == 403 and answer.json()["error"] == "unknown_portal"
    assert taskbridge.portal.emulator.call_log.count() == calls


def test_the_token_is_checked_at_the_stored_endpoint_only(taskbridge: Any) -> None:
    taskbridge.install()
    answer = open_app(taskbridge, 1, DOMAIN="evil.example",
                      client_endpoint="http://127.0.0.1:9/rest/")
    assert answer.status_code == 200


def test_an_unknown_placement_is_a_404(taskbridge: Any) -> None:
    answer = open_app(taskbridge, 1, PLACEMENT="CRM_CONTACT_DETAIL_TAB")
    assert answer.status_code == 404 and answer.json()["error"] == "unknown_placement"


def test_opening_the_app_costs_one_rest_request(taskbridge: Any) -> None:
    taskbridge.install()
    calls = taskbridge.portal.emulator.call_log.count()
    assert open_app(taskbridge, 1).status_code == 200
    assert taskbridge.portal.emulator.call_log.count() - calls == 1

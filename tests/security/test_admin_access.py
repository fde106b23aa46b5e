"""The admin pages answer nobody without the admin token, and no form acts without its
CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.security.conftest import ADMIN_TOKEN, staff_session
from tests.support.stack import TaskBridge

PAGES = ("/admin/", "/admin/settings", "/admin/export.csv", "/admin/export.json",
         "/admin/events/1", "/admin/portals/1/items/deal:1", "/admin/portals/1/backfill.json")
JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_refuse_a_missing_token(secured: TaskBridge, path: str) -> None:
    answer = requests.get(f"{secured.url}{path}", headers=JSON, timeout=10,
                          allow_redirects=False)
    assert answer.status_code == 401
    assert answer.json()["error"] == "sign_in"


@pytest.mark.parametrize("path", PAGES)
def test_admin_pages_refuse_a_wrong_token(secured: TaskBridge, path: str) -> None:
    answer = requests.get(f"{secured.url}{path}", timeout=10, allow_redirects=False,
                          headers={**JSON, "Authorization": f"Bearer {ADMIN_TOKEN}x"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_admin_token"


def test_admin_pages_refuse_a_forged_session_cookie(secured: TaskBridge) -> None:
    answer = requests.get(f"{secured.url}/admin/", headers=JSON, timeout=10,
                          cookies={"tb_admin": "eyJraW5kIjoic3RhZmYifQ.forged.sig"},
                          allow_redirects=False)
    assert answer.status_code == 401


def test_the_right_token_opens_them(secured: TaskBridge) -> None:
    answer = requests.get(f"{secured.url}/admin/", timeout=10,
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200


def _forms(bridge: TaskBridge) -> dict[str, tuple[str, dict[str, str]]]:
    member_id = bridge.portal.member_id
    first = bridge.journal.rows()[0]["id"]
    return {
        "replay one": (f"/admin/events/{first}/replay", {}),
        "replay filtered": ("/admin/replay", {"dry_run": "1"}),
        "settings": (f"/admin/portals/{member_id}/settings", {"language": "it"}),
        "backfill": (f"/admin/portals/{member_id}/backfill", {}),
        "logout": ("/admin/logout", {}),
    }


@pytest.mark.parametrize("form", ["replay one", "replay filtered", "settings", "backfill",
                                  "logout"])
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_every_form_refuses_a_post_without_its_csrf_token(
    secured: TaskBridge, deal_event: dict[str, Any], form: str, token: str
) -> None:
    secured.drain()
    session, csrf = staff_session(secured)
    path, fields = _forms(secured)[form]
    if token == "wrong":
        fields = {**fields, "csrf_token": csrf[:-2] + "xx"}
    answer = session.post(f"{secured.url}{path}", data=fields, timeout=10,
                          allow_redirects=False, headers=JSON)
    assert answer.status_code == 400
    assert answer.json()["error"] == "csrf_failed"
    # With the token the form gets past the CSRF check (a replay may still be refused).
    accepted = session.post(f"{secured.url}{path}", data={**_forms(secured)[form][1],
                                                          "csrf_token": csrf},
                            timeout=10, allow_redirects=False)
    assert accepted.status_code in (200, 303, 409), accepted.text[:300]  # 409: not replayable


def test_the_sign_in_form_refuses_a_post_without_its_csrf_token(secured: TaskBridge) -> None:
    answer = requests.post(f"{secured.url}/admin/login", headers=JSON, timeout=10,
                           data={"token": ADMIN_TOKEN}, allow_redirects=False)
    assert answer.status_code == 400
    assert "tb_admin" not in answer.cookies


def test_the_create_task_form_refuses_an_unsigned_form(secured: TaskBridge) -> None:
    answer = requests.post(f"{secured.url}/bitrix/placement/tasks", timeout=10,
                           data={"token": "not-issued-by-taskbridge", "title": "x",
                                 "responsible": "1"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "invalid_form_token"

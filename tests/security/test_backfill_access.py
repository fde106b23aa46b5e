"""A portal's backfill belongs to that portal: its admin, signed in from Bitrix24, can
neither start nor read another portal's; staff can, for any portal; nobody without a
session or without the form's CSRF token starts one."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connector.storage.portals import Installation
from connector.sync.backfill import backfill_progress
from tests.security.conftest import CSRF, staff_session
from tests.security.test_admin_sessions import open_as_portal_admin
from tests.support.stack import TaskBridge

JSON = {"Accept": "application/json"}


@pytest.fixture
def other_portal(secured: TaskBridge) -> Any:
    """A second installed portal in the same TaskBridge."""
    other = secured.storage.portals.save(Installation(
        member_id="other-member", domain="other.example",
        client_endpoint="https://other.example/rest/"))
    secured.storage.portals.mark_installed("other-member")
    return other


def portal_admin(bridge: TaskBridge) -> tuple[requests.Session, str]:
    """The admin of the emulated portal, as Bitrix24 opens TaskBridge for them; their CSRF."""
    session = open_as_portal_admin(bridge).session  # type: ignore[attr-defined]
    page = session.get(f"{bridge.url}/admin/portals/{bridge.portal.member_id}/settings",
                       timeout=10)
    assert page.status_code == 200, page.text[:300]
    return session, CSRF.search(page.text).group(1)


def test_a_portal_admin_cannot_start_or_read_another_portals_backfill(
        secured: TaskBridge, other_portal: Any) -> None:
    session, csrf = portal_admin(secured)
    target = f"{secured.url}/admin/portals/other-member/backfill"
    started = session.post(target, data={"csrf_token": csrf}, headers=JSON, timeout=10,
                           allow_redirects=False)
    assert started.status_code == 403 and started.json()["error"] == "forbidden_portal"
    read = session.get(f"{target}.json", timeout=10)
    assert read.status_code == 403 and read.json()["error"] == "forbidden_portal"
    assert backfill_progress(secured.storage, other_portal.id) is None
    own = session.post(f"{secured.url}/admin/portals/{secured.portal.member_id}/backfill",
                       data={"csrf_token": csrf}, headers=JSON, timeout=10)
    assert own.status_code == 202 and own.json()["state"] in ("queued", "running")


def test_staff_may_start_any_portals_backfill(secured: TaskBridge, other_portal: Any) -> None:
    session, csrf = staff_session(secured)
    started = session.post(f"{secured.url}/admin/portals/other-member/backfill",
                           data={"csrf_token": csrf}, timeout=10, allow_redirects=False)
    assert started.status_code == 303
    progress = backfill_progress(secured.storage, other_portal.id)
    assert progress is not None and progress.state == "queued"


@pytest.mark.parametrize("how", ["no session", "forged cookie"])
def test_without_a_session_nothing_is_started_or_shown(secured: TaskBridge,
                                                      other_portal: Any, how: str) -> None:
    cookies = {"tb_admin": "eyJraW5kIjoic3RhZmYifQ.forged.sig"} if how == "forged cookie" \
        else {}
    target = f"{secured.url}/admin/portals/other-member/backfill"
    started = requests.post(target, data={"csrf_token": "x"}, headers=JSON, cookies=cookies,
                            timeout=10, allow_redirects=False)
    assert started.status_code == 401 and started.json()["error"] == "sign_in"
    read = requests.get(f"{target}.json", headers=JSON, cookies=cookies, timeout=10)
    assert read.status_code == 401
    assert backfill_progress(secured.storage, other_portal.id) is None


def test_a_portal_admins_button_needs_the_csrf_token(secured: TaskBridge) -> None:
    session, csrf = portal_admin(secured)
    before = backfill_progress(secured.storage, secured.stored().id)
    answer = session.post(f"{secured.url}/admin/portals/{secured.portal.member_id}/backfill",
                          data={"csrf_token": csrf[:-2] + "xx"}, headers=JSON, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "csrf_failed"
    assert backfill_progress(secured.storage, secured.stored().id) == before

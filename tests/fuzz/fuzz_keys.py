"""The genuine credentials a fuzz run mixes into its hostile requests, so that generated
input also reaches the code behind each check: portal users' AUTH_IDs, the automation
bearer token, the admin token, staff and portal-admin sessions with their CSRF tokens, a
deal tab's signed create-task form.

Sessions can end mid-run (a generated logout with a valid CSRF token signs one out; form
tokens may be single-use), so CSRF tokens and sign-in forms are fetched fresh on demand."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import create_engine, text

from connector.portals.automation_token import automation_token
from connector.settings import Settings
from tests.fuzz.conftest import Gunicorn
from tests.support.stack import CLIENT_ID

ADMIN_COOKIE = "tb_admin"
LOGIN_COOKIE = "tb_login"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
_CARD_TOKEN = re.compile(r'name="token" value="([^"]*)"')


@dataclass
class FuzzKeys:
    url: str
    member_id: str
    portal_id: int
    deal_id: int
    event: dict[str, Any]
    admin_auth: str  # AUTH_ID of the portal's admin (user 1)
    user_auth: str  # AUTH_ID of a user who is no admin
    task_token: str  # bearer token of POST /bitrix/tasks for this portal
    admin_token: str
    card_token: str  # the signed token of a deal tab's create-task form
    cookies: dict[str, str] = field(default_factory=dict)  # "staff", "portal": tb_admin
    refreshed: int = 0  # sessions signed in again after a generated logout

    def session_cookie(self, kind: str) -> str:
        if kind not in self.cookies:
            self.cookies[kind] = (self._staff_cookie() if kind == "staff"
                                  else self._portal_cookie()) or "signed-out"
            self.refreshed += 1
        return self.cookies[kind]

    def forget(self, kind: str) -> None:
        """The session was signed out: the next request that needs one signs in again."""
        self.cookies.pop(kind, None)

    def csrf(self, kind: str) -> str:
        """A CSRF token of the session, read from the sync log page as a browser would."""
        page = requests.get(f"{self.url}/admin/", timeout=30, headers={"Accept": "text/html"},
                            cookies={ADMIN_COOKIE: self.session_cookie(kind)})
        found = _CSRF.search(page.text)
        return found.group(1) if found else ""

    def login_form(self) -> tuple[str, str]:
        """(tb_login cookie, CSRF token) of a fresh sign-in form."""
        page = requests.get(f"{self.url}/admin/login", timeout=30)
        found = _CSRF.search(page.text)
        return page.cookies.get(LOGIN_COOKIE, ""), found.group(1) if found else ""

    def fresh_card_token(self) -> str:
        """A deal tab's create-task form token never used yet (each is good for one task)."""
        tab = requests.post(f"{self.url}/bitrix/placement", timeout=30, data={
            "AUTH_ID": self.admin_auth, "member_id": self.member_id,
            "PLACEMENT": "CRM_DEAL_DETAIL_TAB",
            "PLACEMENT_OPTIONS": json.dumps({"ID": self.deal_id})})
        found = _CARD_TOKEN.search(tab.text)
        return found.group(1) if found else self.card_token

    def _staff_cookie(self) -> str:
        cookie, csrf = self.login_form()
        answer = requests.post(f"{self.url}/admin/login", timeout=30, allow_redirects=False,
                               cookies={LOGIN_COOKIE: cookie},
                               data={"csrf_token": csrf, "token": self.admin_token,
                                     "next": "/admin/"})
        return answer.cookies.get(ADMIN_COOKIE, "")

    def _portal_cookie(self) -> str:
        answer = requests.post(f"{self.url}/bitrix/placement", timeout=30,
                               allow_redirects=False,
                               data={"AUTH_ID": self.admin_auth, "member_id": self.member_id,
                                     "PLACEMENT": "DEFAULT", "LANG": "en"})
        return answer.cookies.get(ADMIN_COOKIE, "")


def gather_keys(gunicorn: Gunicorn, settings: Settings) -> FuzzKeys:
    """Sign in every way the app allows and keep what each way hands out."""
    portal = gunicorn.portal
    plain_user = portal.add_user("Plain", "User")
    admin_auth = portal.issue_tokens(CLIENT_ID, 1).access_token
    deal_id = int(gunicorn.event["data"]["FIELDS"]["ID"])
    staff = requests.get(f"{gunicorn.url}/admin/settings", timeout=30,
                         headers={"Authorization": f"Bearer {gunicorn.admin_token}"})
    assert staff.status_code == 200, staff.text[:500]
    engine = create_engine(gunicorn.database_url)
    with engine.connect() as conn:
        portal_id = conn.execute(text("SELECT id FROM portals WHERE member_id = :m"),
                                 {"m": portal.member_id}).scalar_one()
    engine.dispose()
    keys = FuzzKeys(
        url=gunicorn.url, member_id=portal.member_id, portal_id=portal_id, deal_id=deal_id,
        event=gunicorn.event, admin_auth=admin_auth,
        user_auth=portal.issue_tokens(CLIENT_ID, plain_user).access_token,
        task_token=automation_token(settings, portal.member_id),
        admin_token=gunicorn.admin_token, card_token="")
    keys.card_token = keys.fresh_card_token()
    assert keys.card_token, "a deal tab opened by the portal's admin has no create-task form"
    return keys

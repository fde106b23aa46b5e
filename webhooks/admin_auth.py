"""Who may open `/admin/`: support staff with `TASKBRIDGE_ADMIN_TOKEN`, or a portal admin
who opened the app inside Bitrix24 (a session held to that one portal).

Staff send `Authorization: Bearer <token>` or sign in with a form that sets a signed
session cookie. Tokens are compared with `hmac.compare_digest`. Cookie sessions carry a
CSRF token that every form that changes something must echo; Bearer requests carry no
cookie, so they need none. With no admin token configured, staff access is refused with a
message saying so; portal sessions still work when a secret key is set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from connector.settings import Settings

COOKIE = "tb_admin"
LOGIN_COOKIE = "tb_login"
SESSION_SECONDS = 12 * 3600
STAFF = "staff"
PORTAL = "portal"


class AdminAuthError(Exception):
    """Why a request may not see the admin pages; `status` is the HTTP answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class CsrfError(AdminAuthError):
    def __init__(self) -> None:
        super().__init__(400, "csrf_failed", "The form expired or did not come from this site; "
                         "reload the page and try again.")


@dataclass(frozen=True)
class Viewer:
    """Whoever is looking: staff (every portal) or one portal's admin."""

    kind: str
    csrf: str = ""
    portal_id: int | None = None
    member_id: str | None = None
    user_id: int | None = None
    name: str = ""
    language: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF

    def may_see(self, portal_id: int | None) -> bool:
        return self.is_staff or (portal_id is not None and portal_id == self.portal_id)

    @property
    def who(self) -> str:
        """How replays and settings changes name the person in the journal."""
        if self.is_staff:
            return "staff"
        return f"portal-admin:{self.member_id}:user {self.user_id}"


def _settings() -> Settings:
    return current_app.extensions["taskbridge.settings"]


def signer(salt: str) -> URLSafeTimedSerializer | None:
    settings = _settings()
    material = settings.secret_key.get_secret_value() or settings.admin_token.get_secret_value()
    if not material:
        return None
    key = hmac.new(material.encode(), b"taskbridge admin sessions", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=salt)


def admin_token_configured() -> bool:
    return bool(_settings().admin_token.get_secret_value())


def token_matches(candidate: str) -> bool:
    expected = _settings().admin_token.get_secret_value()
    if not expected or not candidate:
        return False
    return hmac.compare_digest(expected.encode(), candidate.encode())


def current_viewer() -> Viewer:
    """The viewer of this request, or `AdminAuthError` (401 sign in, 503 not configured)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        if not admin_token_configured():
            raise _not_configured()
        if token_matches(header[7:].strip()):
            return Viewer(kind=STAFF, name="staff (token)")
        raise AdminAuthError(401, "invalid_admin_token", "The admin token is not valid.")
    viewer = _from_cookie()
    if viewer is not None:
        if viewer.is_staff and not admin_token_configured():
            raise _not_configured()
        return viewer
    if not admin_token_configured():
        raise _not_configured()
    raise AdminAuthError(401, "sign_in", "Sign in with the admin token.")


def _not_configured() -> AdminAuthError:
    return AdminAuthError(
        503, "admin_disabled",
        "The admin pages are disabled: TASKBRIDGE_ADMIN_TOKEN is not set on this server.",
    )


def _from_cookie() -> Viewer | None:
    raw = request.cookies.get(COOKIE)
    serializer = signer("session")
    if not raw or serializer is None:
        return None
    try:
        data: dict[str, Any] = serializer.loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    return Viewer(**data)


def uses_cookie() -> bool:
    return not request.headers.get("Authorization", "").lower().startswith("bearer ")


def check_csrf(viewer: Viewer, form_value: str | None) -> None:
    """Cookie sessions must echo their CSRF token; Bearer requests cannot be forged."""
    if not uses_cookie():
        return
    if not form_value or not viewer.csrf or not hmac.compare_digest(viewer.csrf, form_value):
        raise CsrfError()


def start_session(response: Response, viewer_fields: dict[str, Any]) -> Viewer:
    """Set the signed session cookie; returns the viewer with its fresh CSRF token."""
    serializer = signer("session")
    if serializer is None:
        raise AdminAuthError(503, "no_secret_key",
                             "Sessions need TASKBRIDGE_SECRET_KEY or TASKBRIDGE_ADMIN_TOKEN.")
    viewer = Viewer(csrf=secrets.token_urlsafe(24), **viewer_fields)
    response.set_cookie(COOKIE, serializer.dumps(viewer.__dict__), max_age=SESSION_SECONDS,
                        **_cookie_flags())
    return viewer


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, **_cookie_flags())


def _cookie_flags() -> dict[str, Any]:
    # Inside the Bitrix24 frame the cookie is a third-party one: that needs None + Secure.
    secure = request.is_secure
    return {"httponly": True, "secure": secure, "samesite": "None" if secure else "Lax",
            "path": "/"}


def login_csrf() -> tuple[str, str | None]:
    """A CSRF token for the sign-in form (double submit): (token, cookie value to set)."""
    serializer = signer("login")
    existing = request.cookies.get(LOGIN_COOKIE)
    if serializer is not None and existing:
        try:
            return serializer.loads(existing, max_age=SESSION_SECONDS), None
        except BadSignature:
            pass
    token = secrets.token_urlsafe(24)
    return token, serializer.dumps(token) if serializer is not None else None


def set_login_cookie(response: Response, value: str | None) -> None:
    if value:
        response.set_cookie(LOGIN_COOKIE, value, max_age=SESSION_SECONDS, **_cookie_flags())


def check_login_csrf(form_value: str | None) -> None:
    serializer = signer("login")
    raw = request.cookies.get(LOGIN_COOKIE)
    if serializer is None or not raw or not form_value:
        raise CsrfError()
    try:
        expected = serializer.loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        raise CsrfError() from None
    if not hmac.compare_digest(str(expected), form_value):
        raise CsrfError()

"""Who may open `/admin/`: support staff with `TASKBRIDGE_ADMIN_TOKEN`, or a portal admin
who opened the app inside Bitrix24 (a session held to that one portal).

Staff send `Authorization: Bearer <token>` or sign in with a form that sets a signed
session cookie. Tokens are compared with `hmac.compare_digest`, and wrong guesses are
throttled per client address (only failures count). A cookie names a server-side session
(`connector.storage.access`): signing out revokes it, and a staff session also ends when
the admin token changes, since it holds a fingerprint (an HMAC) of the token it began with.
Cookie sessions carry a CSRF token that every form that changes something must echo;
Bearer requests carry no cookie, so they need none. With no admin token configured, staff
access is refused with a message saying so; portal sessions still work when a secret key
is set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from connector.settings import Settings
from connector.storage.access import AdminSession, AdminSessionStore, FailureThrottle
from webhooks.errors import WebhookError

log = logging.getLogger(__name__)

COOKIE = "tb_admin"
LOGIN_COOKIE = "tb_login"
SESSION_SECONDS = 12 * 3600
STAFF = "staff"
PORTAL = "portal"
GUESS_SCOPE = "admin_token"
GUESS_LIMIT = 10
GUESS_WINDOW = 60.0


class AdminAuthError(WebhookError):
    """Why a request may not see the admin pages: sign in, wait, or ask for it set up."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)

    @property
    def message(self) -> str:
        return self.description


class CsrfError(AdminAuthError):
    def __init__(self) -> None:
        super().__init__(400, "csrf_failed", "The form expired or did not come from this site; "
                         "reload the page and try again.")


class TooManyGuesses(AdminAuthError):
    """This address guessed the admin token wrong too often; it waits `retry_after` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "too_many_attempts", "Too many wrong admin tokens from this "
                         "address; wait a minute and try again.")
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)


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
    session_id: str | None = None  # None for Bearer requests
    portal_domain: str | None = None  # the portal whose pages frame a portal admin's

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


# What the signed cookie holds besides the session id (the row holds what can be revoked).
_COOKIE_FIELDS = ("kind", "csrf", "portal_id", "member_id", "user_id", "name", "language")


def _settings() -> Settings:
    return current_app.extensions["taskbridge.settings"]


def _sessions() -> AdminSessionStore:
    return AdminSessionStore(current_app.extensions["taskbridge.storage"].engine)


def _signing_material() -> str:
    settings = _settings()
    return settings.secret_key.get_secret_value() or settings.admin_token.get_secret_value()


def signer(salt: str) -> URLSafeTimedSerializer | None:
    material = _signing_material()
    if not material:
        return None
    key = hmac.new(material.encode(), b"taskbridge admin sessions", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=salt)


def token_fingerprint() -> str:
    """An HMAC of the current admin token: equal while the token is unchanged."""
    token = _settings().admin_token.get_secret_value()
    return hmac.new(_signing_material().encode(), b"admin token\x00" + token.encode(),
                    hashlib.sha256).hexdigest()


def admin_token_configured() -> bool:
    return bool(_settings().admin_token.get_secret_value())


def token_matches(candidate: str) -> bool:
    expected = _settings().admin_token.get_secret_value()
    if not expected or not candidate:
        return False
    return hmac.compare_digest(expected.encode(), candidate.encode())


def _guesses() -> FailureThrottle:
    engine = current_app.extensions["taskbridge.storage"].engine
    return FailureThrottle(engine, GUESS_SCOPE, limit=GUESS_LIMIT, window=GUESS_WINDOW)


def check_admin_token(candidate: str) -> bool:
    """Whether `candidate` is the admin token; `TooManyGuesses` once this address has
    guessed wrong too often (then even the right token waits, or guessing would go on)."""
    guesses = _guesses()
    address = request.remote_addr or "unknown"
    wait = guesses.retry_after(address)
    if wait:
        raise TooManyGuesses(wait)
    if token_matches(candidate):
        return True
    wait = guesses.failed(address)
    if wait:
        log.warning("admin token: too many wrong guesses from %s; refused for %s s",
                    address, wait)
        raise TooManyGuesses(wait)
    return False


def current_viewer() -> Viewer:
    """The viewer of this request, or `AdminAuthError` (401 sign in, 429 too many wrong
    tokens, 503 not configured)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        if not admin_token_configured():
            raise _not_configured()
        if check_admin_token(header[7:].strip()):
            return Viewer(kind=STAFF, name="staff (token)")
        raise AdminAuthError(401, "invalid_admin_token", "The admin token is not valid.")
    viewer = _from_cookie()
    if viewer is not None:
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
    """The viewer the cookie names, while its session is live on the server."""
    raw = request.cookies.get(COOKIE)
    serializer = signer("session")
    if not raw or serializer is None:
        return None
    try:
        data: dict[str, Any] = serializer.loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
        return None  # a cookie from before sessions were kept on the server
    held = _sessions().find_valid(data["sid"])
    if held is None or not _still_holds(held, data):
        return None
    fields = {name: data.get(name) for name in _COOKIE_FIELDS}
    return Viewer(**fields, session_id=held.id, portal_domain=held.portal_domain)


def _still_holds(held: AdminSession, data: dict[str, Any]) -> bool:
    if held.kind != data.get("kind"):
        return False
    if held.kind == PORTAL:
        return held.portal_id is not None and held.portal_id == data.get("portal_id")
    if held.kind == STAFF:
        if not admin_token_configured():
            raise _not_configured()
        return bool(held.token_fingerprint) and hmac.compare_digest(
            (held.token_fingerprint or "").encode(), token_fingerprint().encode())
    return False


def uses_cookie() -> bool:
    return not request.headers.get("Authorization", "").lower().startswith("bearer ")


def check_csrf(viewer: Viewer, form_value: str | None) -> None:
    """Cookie sessions must echo their CSRF token; Bearer requests cannot be forged."""
    if not uses_cookie():
        return
    if not form_value or not viewer.csrf or not hmac.compare_digest(
            viewer.csrf.encode(), form_value.encode()):
        raise CsrfError()


def start_session(response: Response, viewer_fields: dict[str, Any]) -> Viewer:
    """Start a server-side session and set the signed cookie naming it; returns the viewer
    with its fresh CSRF token."""
    serializer = signer("session")
    if serializer is None:
        raise AdminAuthError(503, "no_secret_key",
                             "Sessions need TASKBRIDGE_SECRET_KEY or TASKBRIDGE_ADMIN_TOKEN.")
    viewer = Viewer(csrf=secrets.token_urlsafe(24), **viewer_fields)
    fingerprint = token_fingerprint() if viewer.is_staff else None
    session_id = _sessions().start(
        viewer.kind, lifetime=timedelta(seconds=SESSION_SECONDS),
        portal_id=None if viewer.is_staff else viewer.portal_id,
        token_fingerprint=fingerprint)
    cookie = {name: getattr(viewer, name) for name in _COOKIE_FIELDS}
    cookie["sid"] = session_id
    response.set_cookie(COOKIE, serializer.dumps(cookie), max_age=SESSION_SECONDS,
                        **cookie_flags(viewer.kind))
    return Viewer(**{**viewer.__dict__, "session_id": session_id})


def end_session(response: Response, viewer: Viewer | None) -> None:
    """Sign out: revoke the session on the server, then drop the cookie."""
    if viewer is not None and viewer.session_id:
        _sessions().revoke(viewer.session_id)
    response.delete_cookie(COOKIE, **cookie_flags(viewer.kind if viewer else STAFF))


def cookie_flags(kind: str) -> dict[str, Any]:
    """`Secure` whenever the request came over TLS (behind a proxy only when it is trusted:
    `TASKBRIDGE_TRUST_PROXY`). A portal admin's cookie lives in the Bitrix24 frame, a
    third-party context that needs `SameSite=None`, which browsers take only with `Secure`;
    on plain http (development) it stays `Lax`. Staff pages are never framed: `Lax`."""
    secure = request.is_secure
    samesite = "None" if kind == PORTAL and secure else "Lax"
    return {"httponly": True, "secure": secure, "samesite": samesite, "path": "/"}


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
        response.set_cookie(LOGIN_COOKIE, value, max_age=SESSION_SECONDS,
                            **cookie_flags(STAFF))


def check_login_csrf(form_value: str | None) -> None:
    serializer = signer("login")
    raw = request.cookies.get(LOGIN_COOKIE)
    if serializer is None or not raw or not form_value:
        raise CsrfError()
    try:
        expected = serializer.loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        raise CsrfError() from None
    if not hmac.compare_digest(str(expected).encode(), form_value.encode()):
        raise CsrfError()

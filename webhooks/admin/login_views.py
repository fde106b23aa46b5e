"""Sign in with the admin token (a form with a CSRF token), sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, url_for

from webhooks.admin.pages import render, viewer
from webhooks.admin_auth import (
    STAFF,
    AdminAuthError,
    admin_token_configured,
    check_admin_token,
    check_csrf,
    check_login_csrf,
    end_session,
    login_csrf,
    set_login_cookie,
    start_session,
)

NEXT_MAX = 2048


def attach(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/login", "login", login, methods=["GET"])
    blueprint.add_url_rule("/login", "login_submit", login_submit, methods=["POST"])
    blueprint.add_url_rule("/logout", "logout", logout, methods=["POST"])


def login():  # type: ignore[no-untyped-def]
    if not admin_token_configured():
        raise AdminAuthError(503, "admin_disabled", "The admin pages are disabled: "
                             "TASKBRIDGE_ADMIN_TOKEN is not set on this server.")
    token, cookie = login_csrf()
    response = render("login.html", csrf=token, next=safe_next(request.args.get("next")))
    set_login_cookie(response, cookie)
    return response


def login_submit():  # type: ignore[no-untyped-def]
    check_login_csrf(request.form.get("csrf_token"))
    if not admin_token_configured():
        raise AdminAuthError(503, "admin_disabled", "The admin pages are disabled: "
                             "TASKBRIDGE_ADMIN_TOKEN is not set on this server.")
    if not check_admin_token(request.form.get("token", "")):
        return render("login.html", status=401, csrf=request.form.get("csrf_token"),
                      next=safe_next(request.form.get("next")), failed=True)
    response = redirect(safe_next(request.form.get("next")), code=303)
    start_session(response, {"kind": STAFF, "name": "staff"})
    return response


def logout():  # type: ignore[no-untyped-def]
    check_csrf(viewer(), request.form.get("csrf_token"))
    response = redirect(url_for("admin.login"), code=303)
    end_session(response, viewer())
    return response


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this site under /admin/, or the sync log."""
    return value if value and _is_admin_path(value) else url_for("admin.log_list")


def _is_admin_path(value: str) -> bool:
    """No scheme or host (no open redirect), only printable ASCII (a newline cannot reach a
    Location header), no backslash (browsers read it as a slash), no `..` segment."""
    if len(value) > NEXT_MAX or not (value.isascii() and value.isprintable()) or "\\" in value:
        return False
    if value != "/admin" and not value.startswith("/admin/"):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc and ".." not in parts.path.split("/")

"""What every admin view shares: the viewer of the request, its language, rendering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app, g, redirect, render_template, request, url_for

from connector.settings import Settings
from connector.storage.engines import Storage
from webhooks.admin.labels import LANGUAGES, pick_language, translator
from webhooks.admin.messages import auth_key, localized
from webhooks.admin.names import PageNames, page_names
from webhooks.admin.status_words import decision_reason, decision_words, status_badge
from webhooks.admin_auth import Viewer, current_viewer
from webhooks.errors import WebhookError

PUBLIC_ENDPOINTS = {"admin.login", "admin.login_submit"}
LANG_COOKIE = "tb_lang"


def storage() -> Storage:
    return current_app.extensions["taskbridge.storage"]


def settings() -> Settings:
    return current_app.extensions["taskbridge.settings"]


def names(wanted: Iterable[tuple[int | None, str]]) -> PageNames:
    """The titles and names a page shows beside its ids (`webhooks.admin.names`)."""
    return page_names(storage(), settings(), wanted,
                      current_app.extensions["taskbridge.admin_names"])


def viewer() -> Viewer:
    return g.admin_viewer


def resolve_viewer() -> None:
    """Before every admin view: who is asking (sign-in pages excepted)."""
    g.admin_viewer = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    g.admin_viewer = current_viewer()


def language() -> str:
    chosen = request.args.get("lang")
    held = g.get("admin_viewer")
    return pick_language(
        chosen, request.cookies.get(LANG_COOKIE), held.language if held else None,
        request.accept_languages.best_match(LANGUAGES),
    )


def render(template: str, status: int = 200, **context: Any):  # type: ignore[no-untyped-def]
    lang = language()
    body = render_template(
        f"admin/{template}", t=translator(lang), say=localized(lang),
        reason=decision_reason(lang), badge=status_badge(lang), words=decision_words(lang),
        lang=lang, languages=LANGUAGES,
        viewer=g.get("admin_viewer"), **context,
    )
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    if request.args.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True,
                            samesite="Lax", secure=request.is_secure)
    return response


def message(text: str, status: int):  # type: ignore[no-untyped-def]
    """A page that says one thing: a label key, or a message `messages` can translate."""
    return render("message.html", status=status, text=text)


def handle_refusal(exc: WebhookError):  # type: ignore[no-untyped-def]
    """The admin surface's one error handler: a page for browsers, JSON when asked."""
    if exc.code == "sign_in" and request.method in ("GET", "HEAD") and wants_html():
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    if not wants_html():
        return exc.body(), exc.status, exc.headers
    response = message(auth_key(exc.code) or exc.description, exc.status)
    response.headers.update(exc.headers)
    return response


def wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best != "application/json" or request.accept_mimetypes.accept_html

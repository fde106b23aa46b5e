"""Reading a portal's open tasks again from its settings page: start a backfill, and its
progress as JSON for the page to refresh itself. Both only for the viewer's own portal
(staff: any); the numbers are `backfill_progress`'s, nothing else's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g, jsonify, redirect, request, url_for

from connector.errors import TaskBridgeError
from connector.storage.portals import INSTALLED, Portal
from connector.sync.backfill import BackfillProgress, backfill_progress, request_backfill
from webhooks.admin.labels import EN
from webhooks.admin.pages import message, storage, viewer, wants_html
from webhooks.admin_auth import check_csrf

# States in which the page keeps asking for fresh numbers.
RUNNING = ("queued", "running")
FIELDS = ("state", "items_done", "items_total", "items_left", "tasks_seen",
          "requests_spent", "eta_seconds", "started_at", "finished_at", "error")


def attach(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/portals/<member_id>/backfill", "backfill_start", backfill_start,
                           methods=["POST"])
    blueprint.add_url_rule("/portals/<member_id>/backfill.json", "backfill_status",
                           backfill_status)


def as_json(progress: BackfillProgress | None, now: datetime) -> dict[str, Any]:
    """What the page shows, as JSON (`FIELDS`): `state` "none", the rest null, when no
    backfill ever ran."""
    if progress is None:
        return dict.fromkeys(FIELDS, None) | {"state": "none"}
    eta = progress.eta_seconds(now)
    return {
        "state": progress.state, "items_done": progress.items_done,
        "items_total": progress.items_total, "items_left": progress.items_left,
        "tasks_seen": progress.tasks_seen, "requests_spent": progress.requests_spent,
        "eta_seconds": None if eta is None else max(0, round(eta)),
        "started_at": _iso(progress.started_at), "finished_at": _iso(progress.finished_at),
        "error": progress.error,
    }


def progress_of(portal: Portal) -> dict[str, Any]:
    """The settings page's starting numbers (the same JSON the page refreshes from)."""
    return as_json(backfill_progress(storage(), portal.id), datetime.now(UTC))


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def _refusal(text: str, status: int):  # type: ignore[no-untyped-def]
    """A refusal as the settings page's message, or JSON for a script."""
    if wants_html():
        return message(text, status)
    return _json_refusal(text, status)


def _json_refusal(text: str, status: int):  # type: ignore[no-untyped-def]
    """The shape of every JSON refusal (webhooks/errors.py), in English."""
    code = text if text in EN else "refused"
    return jsonify({"status": "error", "error": code,
                    "error_description": EN.get(text, text)}), status


def _viewers_portal(member_id: str) -> Portal | tuple[str, int]:
    """The portal named in the path if the viewer may act on it; else why not."""
    portal = storage().portals.find(member_id)
    if portal is None:
        return "not_found", 404
    if not viewer().may_see(portal.id):
        return "forbidden_portal", 403
    return portal


def backfill_start(member_id: str):  # type: ignore[no-untyped-def]
    """Queue a backfill of the viewer's portal (or join the running one)."""
    check_csrf(viewer(), request.form.get("csrf_token"))
    found = _viewers_portal(member_id)
    if not isinstance(found, Portal):
        return _refusal(*found)
    if found.state != INSTALLED:
        return _refusal("backfill_not_installed", 409)
    try:
        # The sync log names the request that queued it (`X-Request-ID`).
        request_backfill(storage(), found.id, requested_by=viewer().who,
                         correlation_id=g.get("correlation_id"))
    except TaskBridgeError as exc:  # the engine refused: say why, start nothing
        return _refusal(str(exc), 409)
    if not wants_html():
        return jsonify(progress_of(found)), 202
    return redirect(url_for("admin.settings", member_id=found.member_id, backfill="queued")
                    + "#backfill", code=303)


def backfill_status(member_id: str):  # type: ignore[no-untyped-def]
    found = _viewers_portal(member_id)
    if not isinstance(found, Portal):
        return _json_refusal(*found)
    response = jsonify(progress_of(found))
    response.headers["Cache-Control"] = "no-store"
    return response

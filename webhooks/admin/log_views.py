"""The sync log: list with filters, one event in full, one CRM item over time, replay, export."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, redirect, request, stream_with_context, url_for

from connector.observability.item_timeline import item_timeline
from connector.observability.sync_log_export import MAX_EXPORT_ROWS, csv_lines, json_array
from connector.redaction import redact
from connector.storage import write_log
from connector.storage.rest_state import RestCallStore, StoredCall
from connector.storage.sync_log import STATES, Entry, FilterError, LogFilter, SyncLog
from connector.sync.replay import ReplayRefused, replay_matching, replay_one
from mappers.ids import MAX_DIGITS
from webhooks.admin import query
from webhooks.admin.pages import message, names, render, storage, viewer
from webhooks.admin_auth import check_csrf

ID_MAX = 10**MAX_DIGITS - 1


def attach(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/", "log_list", log_list)
    # Ids past 18 digits fit no column: werkzeug answers 404 before the database sees them.
    blueprint.add_url_rule(f"/events/<int(max={ID_MAX}):entry_id>", "entry", entry)
    blueprint.add_url_rule(f"/events/<int(max={ID_MAX}):entry_id>/replay", "replay_entry",
                           replay_entry, methods=["POST"])
    blueprint.add_url_rule("/replay", "replay_filtered", replay_filtered, methods=["POST"])
    blueprint.add_url_rule(f"/portals/<int(max={ID_MAX}):portal_id>/items/<item>", "item",
                           item)
    blueprint.add_url_rule("/export.<any(csv, json):kind>", "export", export)


def _filter(args) -> LogFilter:  # type: ignore[no-untyped-def]
    return query.read_filter(args, portal_id=viewer().portal_id)


def log_list():  # type: ignore[no-untyped-def]
    try:
        where = _filter(request.args)
        before = query.read_id("before", request.args.get("before", ""))
    except FilterError as exc:
        return render("list.html", status=400, error=str(exc), rows=[], page=None,
                      where=LogFilter(portal_id=viewer().portal_id), **_choices())
    log = SyncLog(storage().engine)
    page = log.page(where, before=before)
    shown = names((row.portal_id, row.object_key) for row in page.rows)
    return render("list.html", rows=page.rows, page=page, where=where, form=query.as_args(where),
                  link=query.link, notice=request.args.get("notice"), names=shown,
                  **_choices())


def _choices() -> dict:
    names = SyncLog(storage().engine).portal_names()
    if not viewer().is_staff:
        names = {k: v for k, v in names.items() if k == viewer().portal_id}
    return {"portals": names, "states": STATES}


def entry(entry_id: int):  # type: ignore[no-untyped-def]
    found = SyncLog(storage().engine).entry(entry_id, portal_id=viewer().portal_id)
    if found is None:
        return message("not_found", 404)
    calls, shared_with = pass_calls(found, RestCallStore(storage().engine).for_journal(entry_id))
    writes = write_log.for_journal(storage().engine, entry_id)
    for write in writes:
        write["params"] = redact(write.get("params") or {})
        write["result"] = redact(write.get("result"))
    people = fetched_people(found.detail)
    pid = found.row.portal_id
    shown = names([(pid, found.row.object_key),
                   *((pid, f"task:{d.get('task_id')}") for d in found.decisions),
                   *((pid, f"user:{user_id}") for _role, user_id in people)])
    return render("entry.html", entry=found, calls=calls, shared_with=shared_with,
                  handled_by=found.detail.get("pass") or {}, write_rows=writes,
                  notice=request.args.get("notice"), names=shown, people=people,
                  domain=SyncLog(storage().engine).portal_names().get(pid))


PEOPLE = ("responsible", "actor", "assigned_by")


def fetched_people(detail: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The people a handled event names (the task's responsible, who changed it, the item's
    responsible), as (role, user id), from what the worker fetched."""
    fetched = detail.get("fetched")
    if not isinstance(fetched, Mapping):
        return []
    found = []
    for role in PEOPLE:
        value = fetched.get(role)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            found.append((role, value))
    return found


@dataclass(frozen=True)
class ShownCall:
    """One REST call as the event page lists it."""

    at: datetime | None
    method: str
    duration_ms: float | None
    http_status: int | None
    error_code: str | None
    retries: int

    @property
    def ok(self) -> bool:
        return not self.error_code


def pass_calls(found: Entry, stored: list[StoredCall]) -> tuple[list[Any], int]:
    """The REST calls of the pass that last handled the event, and how many other events
    that pass served (they share its calls: one fetch and one batch serve them all).

    Each row's detail keeps its pass's calls; the calls stored under the row itself are
    what older rows, handled before passes were recorded, have.
    """
    handled = found.detail.get("pass")
    recorded = found.detail.get("rest_calls")
    if not isinstance(recorded, list) or (handled is None and stored):
        return list(stored), 0
    events = handled.get("events", 1) if isinstance(handled, Mapping) else 1
    shown = [_shown_call(call) for call in recorded if isinstance(call, Mapping)]
    return shown, max(0, int(events) - 1)


def _shown_call(call: Mapping[str, Any]) -> ShownCall:
    try:
        at = datetime.fromisoformat(str(call["at"])) if call.get("at") else None
    except ValueError:
        at = None
    return ShownCall(at=at, method=str(call.get("method", "")),
                     duration_ms=call.get("duration_ms"), http_status=call.get("http_status"),
                     error_code=call.get("error"), retries=int(call.get("retries") or 0))


def replay_entry(entry_id: int):  # type: ignore[no-untyped-def]
    check_csrf(viewer(), request.form.get("csrf_token"))
    try:
        result = replay_one(storage().engine, entry_id, by=viewer().who,
                            portal_id=viewer().portal_id)
    except ReplayRefused as exc:
        return message(str(exc), 409)
    return redirect(url_for("admin.entry", entry_id=entry_id, notice=f"replayed:{result.count}"),
                    code=303)


def replay_filtered():  # type: ignore[no-untyped-def]
    check_csrf(viewer(), request.form.get("csrf_token"))
    try:
        where = _filter(request.form)
        result = replay_matching(storage().engine, where, by=viewer().who,
                                 dry_run=bool(request.form.get("dry_run")))
    except (FilterError, ReplayRefused) as exc:
        return message(str(exc), 400)
    notice = f"{'dry' if result.dry_run else 'replayed'}:{result.count}"
    return redirect(f"{url_for('admin.log_list')}?{query.link(where, notice=notice)}", code=303)


def item(portal_id: int, item: str):  # type: ignore[no-untyped-def]
    if not viewer().may_see(portal_id):
        return message("forbidden_portal", 403)
    try:
        key = query.read_item(item)
    except FilterError as exc:
        return message(str(exc), 400)
    timeline = item_timeline(storage().engine, portal_id, key)
    shown = names([(portal_id, key),
                   *((portal_id, f"task:{t.task_id}") for t in timeline.tasks),
                   *((portal_id, f"task:{c.task_id}") for c in timeline.changes),
                   *((portal_id, row.object_key) for row in timeline.entries),
                   *((portal_id, f"user:{t.responsible_id}") for t in timeline.tasks)])
    return render("item.html", timeline=timeline, portal_id=portal_id, names=shown,
                  where=LogFilter(portal_id=portal_id, item=key), link=query.link)


def export(kind: str) -> Response:
    try:
        where = _filter(request.args)
    except FilterError as exc:
        return message(str(exc), 400)
    rows = SyncLog(storage().engine).iterate(where, limit=MAX_EXPORT_ROWS)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body, mimetype = (csv_lines(rows), "text/csv") if kind == "csv" else \
        (json_array(rows), "application/json")
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="sync-log-{stamp}.{kind}"'
    response.headers["Cache-Control"] = "no-store"
    return response

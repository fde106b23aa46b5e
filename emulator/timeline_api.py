"""``crm.timeline.comment.*`` and ``crm.timeline.logmessage.add|get|list|delete``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import filters
from emulator.errors import InvalidArgument, RestError
from emulator.params import as_dict, as_int, page, pick, require, start_of
from emulator.registry import MethodRegistry, Paged
from emulator.state import TimelineEntry

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_TYPE_NAMES = {1: "lead", 2: "deal", 3: "contact", 4: "company"}
_LOG_PAGE = 10


def _check_owner(portal: Portal, entity_type: str, entity_id: int,
                 code: str = "NOT_FOUND") -> None:
    store = {"deal": portal.state.deals, "lead": portal.state.leads}.get(entity_type)
    if store is None or entity_id not in store:
        raise RestError(code, f"{entity_type} {entity_id} not found", 400)


def comment_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    # A real portal reads only the lower-case ``fields`` key here.
    fields = as_dict(params.get("fields"), "fields")
    if not fields:
        raise InvalidArgument("Parameter 'fields' is required")
    entity_type = str(require(fields, "ENTITY_TYPE")).lower()
    entity_id = as_int(require(fields, "ENTITY_ID"), "ENTITY_ID")
    text = str(require(fields, "COMMENT"))
    with portal.state.lock:
        _check_owner(portal, entity_type, entity_id)
        entry = TimelineEntry(
            id=portal.state.next_id("timeline"), kind="comment", entity_type=entity_type,
            entity_id=entity_id, text=text, created=portal.clock.now(),
            author_id=as_int(pick(fields, "AUTHOR_ID", default=ctx.user_id), "AUTHOR_ID"),
        )
        portal.state.timeline[entry.id] = entry
    portal.events.emit("ONCRMTIMELINECOMMENTADD", {"FIELDS": {"ID": str(entry.id)}},
                       ctx.change(), f"timeline:{entry.id}")
    return entry.id


def comment_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    conditions = filters.parse(pick(params, "filter"))
    getters = {"ID": lambda e: e.id, "ENTITY_ID": lambda e: e.entity_id,
               "ENTITY_TYPE": lambda e: e.entity_type, "AUTHOR_ID": lambda e: e.author_id}
    with portal.state.lock:
        entries = [e for e in portal.state.timeline.values()
                   if e.kind == "comment" and filters.matches(e, conditions, getters)]
    entries.sort(key=lambda e: e.id, reverse=True)
    chunk, total, following = page(entries, start_of(params))
    rows = [{"ID": str(e.id), "CREATED": portal.clock.iso(e.created),
             "ENTITY_ID": str(e.entity_id), "ENTITY_TYPE": e.entity_type,
             "AUTHOR_ID": str(e.author_id), "COMMENT": e.text, "FILES": []} for e in chunk]
    return Paged(rows, total, following)


def _log_row(portal: Portal, entry: TimelineEntry) -> dict[str, Any]:
    return {"id": entry.id, "created": portal.clock.iso(entry.created),
            "authorId": entry.author_id, "title": entry.title, "text": entry.text,
            "iconCode": entry.icon_code}


def _entity(params: dict[str, Any]) -> tuple[str, int]:
    type_id = as_int(require(params, "entityTypeId"), "entityTypeId")
    return _TYPE_NAMES.get(type_id, f"type{type_id}"), as_int(require(params, "entityId"),
                                                               "entityId")


def logmessage_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(require(params, "fields"), "fields")
    entity_type, entity_id = _entity(fields)
    with portal.state.lock:
        _check_owner(portal, entity_type, entity_id, "OWNER_NOT_FOUND")
        entry = TimelineEntry(
            id=portal.state.next_id("timeline"), kind="logmessage", entity_type=entity_type,
            entity_id=entity_id, author_id=ctx.user_id, created=portal.clock.now(),
            title=str(require(fields, "title")), text=str(require(fields, "text")),
            icon_code=str(pick(fields, "iconCode", default="info")), client_id=ctx.client_id,
        )
        portal.state.timeline[entry.id] = entry
    return {"logMessage": _log_row(portal, entry)}


def logmessage_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    entity_type, entity_id = _entity(params)
    with portal.state.lock:
        entries = [e for e in portal.state.timeline.values()
                   if e.kind == "logmessage" and e.entity_type == entity_type
                   and e.entity_id == entity_id]
    order = as_dict(pick(params, "order"), "order")
    descending = str(next(iter(order.values()), "DESC")).upper() == "DESC"
    entries.sort(key=lambda e: e.id, reverse=descending)
    offset = as_int(pick(params, "offset", "start", default=0) or 0, "offset")
    chunk = entries[offset : offset + _LOG_PAGE]
    following = offset + _LOG_PAGE if offset + _LOG_PAGE < len(entries) else None
    return Paged({"logMessages": [_log_row(portal, e) for e in chunk]}, len(entries),
                 following)


def _log_entry(portal: Portal, params: dict[str, Any]) -> TimelineEntry:
    entry_id = pick(params, "id")
    if entry_id in (None, ""):
        raise RestError("100", "Could not find value for parameter {id}", 400)
    entry = portal.state.timeline.get(as_int(entry_id, "id"))
    if entry is None or entry.kind != "logmessage":
        raise RestError("NOT_FOUND", f"Timeline logmessage not found for id {entry_id}", 400)
    return entry


def logmessage_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    with portal.state.lock:
        return {"logMessage": _log_row(portal, _log_entry(portal, params))}


def logmessage_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    """Only the app that added an entry may delete it (a webhook added none)."""
    with portal.state.lock:
        entry = _log_entry(portal, params)
        if entry.client_id is None or entry.client_id != ctx.client_id:
            raise RestError("REMOVING_DISABLED", "Timeline logmessage was created in the "
                            "context of another application", 400)
        del portal.state.timeline[entry.id]
    return True


def register(registry: MethodRegistry) -> None:
    registry.method("crm.timeline.comment.add", "crm")(comment_add)
    registry.method("crm.timeline.comment.list", "crm")(comment_list)
    registry.method("crm.timeline.logmessage.add", "crm")(logmessage_add)
    registry.method("crm.timeline.logmessage.list", "crm")(logmessage_list)
    registry.method("crm.timeline.logmessage.get", "crm")(logmessage_get)
    registry.method("crm.timeline.logmessage.delete", "crm")(logmessage_delete)

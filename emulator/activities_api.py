"""``crm.activity.badge.*``, ``crm.activity.configurable.*`` and the configurable part of
``crm.activity.list|delete`` (the contract is in ``emulator.kanban``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulator import filters
from emulator.errors import AccessDenied, RestError
from emulator.params import as_int, page, pick, start_of
from emulator.registry import MethodRegistry, Paged
from emulator.state import Badge

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

BADGE_TYPES = ("success", "failure", "warning", "primary", "secondary")
PROVIDER_ID = "CONFIGURABLE_REST_APP"


# badges -----------------------------------------------------------------------
def _missing(name: str) -> RestError:
    return RestError("REQUIRED_ARG_MISSING", f"Required argument {name!r} is missing", 400)


def _badge_row(badge: Badge) -> dict[str, Any]:
    return {"code": badge.code, "title": badge.title, "value": badge.value,
            "type": badge.type}


def _text_arg(params: dict[str, Any], name: str) -> Any:
    value = pick(params, name)
    if value in (None, "", [], {}):
        raise _missing(name)
    if isinstance(value, dict):
        if not all(isinstance(v, str | int | float) for v in value.values()):
            raise RestError("INVALID_ARG_VALUE", f"{name}: a language map holds texts", 400)
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        raise RestError("INVALID_ARG_VALUE", f"{name}: a string or a language map", 400)
    return str(value)


def _require_crm_admin(portal: Portal, ctx: CallContext) -> None:
    if not portal.is_admin(ctx.user_id):
        raise AccessDenied("Access denied.")


def badge_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _require_crm_admin(portal, ctx)
    code = pick(params, "code")
    if code in (None, ""):
        raise _missing("code")
    title, value = _text_arg(params, "title"), _text_arg(params, "value")
    kind = pick(params, "type")
    if kind in (None, ""):
        raise _missing("type")
    if str(kind) not in BADGE_TYPES:
        raise RestError("INVALID_ARG_VALUE",
                        f"Unknown badge type {kind!r}: one of {', '.join(BADGE_TYPES)}", 400)
    with portal.state.lock:
        if str(code) in portal.state.badges:
            raise RestError("ERROR_BADGE_ALREADY_EXISTS",
                            f"Badge with code {code!r} already exists", 400)
        badge = Badge(str(code), title, value, str(kind))
        portal.state.badges[badge.code] = badge
    return {"badge": _badge_row(badge)}


def _badge(portal: Portal, params: dict[str, Any]) -> Badge:
    code = pick(params, "code")
    if code in (None, ""):
        raise _missing("code")
    badge = portal.state.badges.get(str(code))
    if badge is None:
        raise RestError("NOT_FOUND", "Not found.", 400)
    return badge


def badge_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return {"badge": _badge_row(_badge(portal, params))}


def badge_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    with portal.state.lock:
        return {"badges": [_badge_row(b) for b in portal.state.badges.values()]}


def badge_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _require_crm_admin(portal, ctx)
    with portal.state.lock:
        badge = _badge(portal, params)
        del portal.state.badges[badge.code]
    return True


# configurable activities --------------------------------------------------------
def _app_only(ctx: CallContext) -> None:
    if not ctx.is_app:
        raise RestError("ERROR_WRONG_CONTEXT", "Application context required", 400)


def _int_arg(params: dict[str, Any], name: str) -> int:
    value = pick(params, name)
    if value in (None, ""):
        raise RestError("100", f"Could not find value for parameter {{{name}}}", 400)
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]+", str(value)):
        raise RestError("100", f"Invalid value {value} to match with parameter {{{name}}}. "
                        "Should be value of type int.", 400)
    return int(value)


def _fields_arg(params: dict[str, Any]) -> dict[str, Any]:
    fields = pick(params, "fields")
    if fields in (None, ""):
        raise RestError("100", "Could not find value for parameter {fields}", 400)
    if fields in ([], {}):
        return {}
    if not isinstance(fields, dict):
        raise RestError("WRONG_FIELD_VALUE", "fields must be an object", 400)
    return fields


def configurable_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _app_only(ctx)
    owner_type_id, owner_id = _int_arg(params, "ownerTypeId"), _int_arg(params, "ownerId")
    activity = portal.kanban.add(ctx, owner_type_id, owner_id, _fields_arg(params),
                                 pick(params, "layout"))
    return {"activity": {"id": activity.id}}


def configurable_update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _app_only(ctx)
    activity = portal.kanban.update(ctx, _int_arg(params, "id"), _fields_arg(params),
                                    pick(params, "layout"))
    return {"activity": {"id": activity.id}}


def configurable_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _app_only(ctx)
    with portal.state.lock:
        return {"activity": portal.kanban.render(portal.kanban.require(
            _int_arg(params, "id")))}


def activity_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    activity_id = pick(params, "id")
    if activity_id in (None, ""):
        raise RestError("100", "Could not find value for parameter {id}", 400)
    portal.kanban.delete(ctx, as_int(activity_id, "id"))
    return True


def activity_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    conditions = filters.parse(pick(params, "filter"))
    getters = {
        "ID": lambda a: a.id, "OWNER_TYPE_ID": lambda a: a.owner_type_id,
        "OWNER_ID": lambda a: a.owner_id, "PROVIDER_ID": lambda a: PROVIDER_ID,
        "PROVIDER_TYPE_ID": lambda a: a.fields["typeId"],
        "COMPLETED": lambda a: "Y" if a.fields["completed"] else "N",
        "RESPONSIBLE_ID": lambda a: a.fields["responsibleId"],
    }
    with portal.state.lock:
        rows = [a for a in portal.state.activities.values()
                if filters.matches(a, conditions, getters)]
        rows.sort(key=lambda a: a.id)
        chunk, total, following = page(rows, start_of(params))
        return Paged([_list_row(portal, a) for a in chunk], total, following)


def _list_row(portal: Portal, activity: Any) -> dict[str, Any]:
    iso = portal.clock.iso
    title = activity.layout.get("header", {}).get("title", "")
    deadline = activity.fields["deadline"]
    return {
        "ID": str(activity.id), "OWNER_ID": str(activity.owner_id),
        "OWNER_TYPE_ID": str(activity.owner_type_id), "TYPE_ID": "6",
        "PROVIDER_ID": PROVIDER_ID, "PROVIDER_TYPE_ID": activity.fields["typeId"],
        "SUBJECT": title if isinstance(title, str) else "",
        "CREATED": iso(activity.created), "LAST_UPDATED": iso(activity.updated),
        "DEADLINE": None if deadline is None else iso(deadline),
        "COMPLETED": "Y" if activity.fields["completed"] else "N",
        "RESPONSIBLE_ID": str(activity.fields["responsibleId"]),
        "ORIGINATOR_ID": activity.fields["originatorId"],
        "ORIGIN_ID": activity.fields["originId"],
    }


def register(registry: MethodRegistry) -> None:
    for name, handler in (
        ("crm.activity.badge.add", badge_add), ("crm.activity.badge.get", badge_get),
        ("crm.activity.badge.list", badge_list), ("crm.activity.badge.delete", badge_delete),
        ("crm.activity.configurable.add", configurable_add),
        ("crm.activity.configurable.update", configurable_update),
        ("crm.activity.configurable.get", configurable_get),
        ("crm.activity.delete", activity_delete), ("crm.activity.list", activity_list),
    ):
        registry.method(name, "crm")(handler)


"""``event.*`` and ``event.offline.*``: app-context methods over the event hub."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.errors import AccessDenied, InvalidArgument
from emulator.params import as_int, pick, require
from emulator.registry import MethodRegistry

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal


def _require_admin(portal: Portal, ctx: CallContext) -> None:
    if not portal.is_admin(ctx.user_id):
        raise AccessDenied("Administrator permissions required")


def _offline(params: dict[str, Any]) -> bool:
    return str(pick(params, "event_type", default="online")).lower() == "offline"


def bind(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _require_admin(portal, ctx)
    offline = _offline(params)
    handler = str(pick(params, "handler", default="") or "")
    if not offline and not handler:
        raise InvalidArgument("Handler is required for online events")
    portal.events.bind(
        str(ctx.client_id), str(require(params, "event")), handler,
        as_int(pick(params, "auth_type", default=0) or 0, "auth_type"), offline,
        str(pick(params, "auth_connector", default="") or ""),
    )
    return True


def unbind(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    _require_admin(portal, ctx)
    auth_type = pick(params, "auth_type")
    count = portal.events.unbind(
        str(ctx.client_id), str(require(params, "event")),
        str(pick(params, "handler", default="") or ""), _offline(params),
        None if auth_type in (None, "") else as_int(auth_type, "auth_type"),
    )
    return {"count": count}


def get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return [
        {"event": b.event, "handler": b.handler, "auth_type": str(b.auth_type),
         "offline": int(b.offline)}
        for b in portal.events.bindings_of(str(ctx.client_id))
    ]


def offline_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return portal.offline.get(
        str(ctx.client_id), pick(params, "filter"), pick(params, "order"),
        as_int(pick(params, "limit", default=50) or 50, "limit"),
        str(pick(params, "clear", default=1)) not in ("0", "N", "false", "False"),
        pick(params, "process_id") or None,
        str(pick(params, "error", default=0)) in ("1", "Y", "true", "True"),
        str(pick(params, "auth_connector", default="") or ""),
    )


def _as_list(value: Any) -> list[Any] | None:
    if value in (None, "", []):
        return None
    return value if isinstance(value, list) else [value]


def offline_clear(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    portal.offline.clear(
        str(ctx.client_id), str(require(params, "process_id")),
        _as_list(pick(params, "id")), _as_list(pick(params, "message_id")),
    )
    return True


def offline_error(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    portal.offline.mark_error(
        str(ctx.client_id), str(require(params, "process_id")),
        _as_list(require(params, "message_id")) or [],
    )
    return True


def offline_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return portal.offline.list(str(ctx.client_id), pick(params, "filter"),
                               pick(params, "order"))


def register(registry: MethodRegistry) -> None:
    for name, handler in (
        ("event.bind", bind), ("event.unbind", unbind), ("event.get", get),
        ("event.offline.get", offline_get), ("event.offline.clear", offline_clear),
        ("event.offline.error", offline_error), ("event.offline.list", offline_list),
    ):
        registry.method(name, None, app_only=True)(handler)

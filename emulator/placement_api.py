"""``placement.bind|unbind|get``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.errors import AccessDenied, RestError
from emulator.params import pick, require
from emulator.registry import MethodRegistry
from emulator.state import PlacementBinding

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal


def bind(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    if not portal.is_admin(ctx.user_id):
        raise AccessDenied("Administrator permissions required")
    placement = str(require(params, "PLACEMENT")).upper()
    handler = str(require(params, "HANDLER"))
    with portal.state.lock:
        for existing in portal.state.placements.values():
            if (existing.client_id, existing.placement, existing.handler) == (
                ctx.client_id, placement, handler
            ):
                raise RestError("ERROR_PLACEMENT_HANDLER_ALREADY_BINDED",
                                "Handler already binded")
        binding = PlacementBinding(
            id=portal.state.next_id("placement"), client_id=str(ctx.client_id),
            placement=placement, handler=handler,
            title=str(pick(params, "TITLE", default="") or ""),
            description=str(pick(params, "DESCRIPTION", default="") or ""),
        )
        portal.state.placements[binding.id] = binding
    return True


def unbind(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    placement = str(require(params, "PLACEMENT")).upper()
    handler = pick(params, "HANDLER")
    with portal.state.lock:
        doomed = [p.id for p in portal.state.placements.values()
                  if p.client_id == ctx.client_id and p.placement == placement
                  and (not handler or p.handler == handler)]
        for placement_id in doomed:
            del portal.state.placements[placement_id]
    return {"count": len(doomed)}


def get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    with portal.state.lock:
        return [
            {"placement": p.placement, "handler": p.handler, "title": p.title,
             "description": p.description, "options": [], "langAll": {}}
            for p in portal.state.placements.values() if p.client_id == ctx.client_id
        ]


def register(registry: MethodRegistry) -> None:
    registry.method("placement.bind", "placement", app_only=True)(bind)
    registry.method("placement.unbind", "placement", app_only=True)(unbind)
    registry.method("placement.get", "placement", app_only=True)(get)

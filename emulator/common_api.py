"""``app.info``, ``user.*``, ``profile``, ``scope``, ``methods``, ``server.time``."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from emulator import filters
from emulator.params import page, pick, start_of
from emulator.registry import MethodRegistry, Paged
from emulator.state import User

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal


def user_row(user: User) -> dict[str, Any]:
    return {
        "ID": str(user.id), "XML_ID": f"user{user.id}", "ACTIVE": user.active,
        "NAME": user.name, "LAST_NAME": user.last_name, "SECOND_NAME": "",
        "EMAIL": user.email, "LAST_LOGIN": None, "DATE_REGISTER": None,
        "IS_ONLINE": "N", "TIME_ZONE": "", "TIME_ZONE_OFFSET": "0",
        "TIMESTAMP_X": None, "LAST_ACTIVITY_DATE": None, "PERSONAL_GENDER": "",
        "PERSONAL_BIRTHDAY": "", "WORK_POSITION": user.work_position,
        "UF_EMPLOYMENT_DATE": "", "UF_DEPARTMENT": [1], "USER_TYPE": "employee",
    }


def user_current(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return user_row(portal.require_user(ctx.user_id))


def user_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    raw = dict(pick(params, "filter", "FILTER", default={}) or {})
    for key in ("ID", "ACTIVE", "EMAIL", "NAME"):
        if key in params:
            raw[key] = params[key]
    conditions = filters.parse(raw)
    getters = {"ID": lambda u: u.id, "ACTIVE": lambda u: "Y" if u.active else "N",
               "EMAIL": lambda u: u.email, "NAME": lambda u: u.name,
               "LAST_NAME": lambda u: u.last_name}
    with portal.state.lock:
        users = sorted((u for u in portal.state.users.values()
                        if filters.matches(u, conditions, getters)), key=lambda u: u.id)
    chunk, total, following = page(users, start_of(params))
    return Paged([user_row(u) for u in chunk], total, following)


def profile(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    user = portal.require_user(ctx.user_id)
    return {"ID": str(user.id), "ADMIN": user.is_admin, "NAME": user.name,
            "LAST_NAME": user.last_name, "PERSONAL_GENDER": "", "TIME_ZONE": "",
            "TIME_ZONE_OFFSET": 0}


def user_admin(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return portal.is_admin(ctx.user_id)


def app_info(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    if not ctx.is_app:
        return {"SCOPE": list(ctx.scope), "LICENSE": "en_project", "LICENSE_TYPE": "project",
                "LICENSE_FAMILY": "project"}
    app = portal.state.apps[str(ctx.client_id)]
    return {
        "ID": str(zlib.crc32(app.client_id.encode()) % 100000), "CODE": app.code,
        "VERSION": app.version, "STATUS": app.status, "INSTALLED": app.install_finished,
        "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": "en",
        "LICENSE": "en_project", "LICENSE_TYPE": "project", "LICENSE_FAMILY": "project",
    }


def scope(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return list(ctx.scope)


def methods(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return [name.lower() for name in portal.registry.names()]


def server_time(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return portal.clock.iso()


def register(registry: MethodRegistry) -> None:
    registry.method("user.current", "user")(user_current)
    registry.method("user.get", "user")(user_get)
    registry.method("user.admin", None)(user_admin)
    registry.method("profile", None)(profile)
    registry.method("app.info", None)(app_info)
    registry.method("scope", None)(scope)
    registry.method("methods", None)(methods)
    registry.method("server.time", None)(server_time)

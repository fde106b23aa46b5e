"""``bizproc.robot.add|update|list|delete``, ``bizproc.event.send``, ``bizproc.activity.log``.

Error codes are the ones the REST docs list for each method
(``api-reference/bizproc/bizproc-robot/``), with the texts and the order of checks of the
portal's ``Bitrix\\Bizproc\\RestService``; robots belong to the app that added them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from emulator.errors import RestError
from emulator.params import pick
from emulator.registry import MethodRegistry
from emulator.state import Robot

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_CODE = re.compile(r"^[a-zA-Z0-9._-]+$")
_PROPERTY_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_DOCUMENT_CLASSES = {
    "CCrmDocumentLead": re.compile(r"^LEAD$"),
    "CCrmDocumentDeal": re.compile(r"^DEAL$"),
    "Bitrix\\Crm\\Integration\\BizProc\\Document\\Quote": re.compile(r"^QUOTE$"),
    "Bitrix\\Crm\\Integration\\BizProc\\Document\\SmartInvoice": re.compile(r"^SMART_INVOICE$"),
    "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic": re.compile(r"^DYNAMIC_\d+$"),
}
_FIELDS = ("HANDLER", "AUTH_USER_ID", "USE_SUBSCRIPTION", "NAME", "DESCRIPTION", "PROPERTIES",
           "RETURN_PROPERTIES", "DOCUMENT_TYPE", "FILTER", "USE_PLACEMENT", "PLACEMENT_HANDLER")


def _invalid(text: str) -> RestError:
    return RestError("ERROR_ACTIVITY_VALIDATION_FAILURE", text, 400)


def _denied(text: str = "Access denied!") -> RestError:
    return RestError("ACCESS_DENIED", text, 403)


def _admin_app(portal: Portal, ctx: CallContext) -> str:
    if not ctx.is_app or not ctx.client_id:
        raise _denied("Application context required")
    if not portal.is_admin(ctx.user_id):
        raise _denied()
    return ctx.client_id


def _upper(params: dict[str, Any]) -> dict[str, Any]:
    return {str(k).upper(): v for k, v in params.items() if str(k).lower() != "auth"}


def _empty(value: Any) -> bool:
    """PHP's ``empty()``: what the portal's checks treat as missing."""
    return value in (None, "", "0", 0, False) or (isinstance(value, dict | list)
                                                   and not value)


def _code(params: dict[str, Any]) -> str:
    code = params.get("CODE")
    if _empty(code):
        raise _invalid("Empty activity code!")
    if not isinstance(code, str) or not _CODE.match(code):
        raise _invalid("Wrong activity code!")
    return code


def _subscription(value: Any) -> bool | None:
    """``USE_SUBSCRIPTION``: Y, N, or empty (each rule's own setting, waiting by default)."""
    if value in (None, ""):
        return None
    return str(value).upper() not in ("N", "FALSE", "0")


def _check_handler(portal: Portal, client_id: str, url: Any) -> str:
    parts = urlsplit(str(url or ""))
    if not url or not parts.hostname:
        raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    if parts.scheme not in ("http", "https"):
        raise RestError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol", 400)
    app_host = urlsplit(portal.state.apps[client_id].handler_url).hostname
    if app_host and parts.hostname.lower() != app_host.lower():
        raise RestError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL", 400)
    return str(url)


def _properties(value: Any) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):  # a PHP array: its keys are 0, 1, ...
        value = dict(enumerate(value))
    if not isinstance(value, dict):
        raise _invalid("Wrong properties array!")
    checked: dict[str, dict[str, Any]] = {}
    for key, spec in value.items():
        if not _PROPERTY_KEY.match(str(key)):
            raise _invalid(f"Wrong property key ({key})!")
        upper = {str(k).upper(): v for k, v in spec.items()} if isinstance(spec, dict) else {}
        if _empty(upper.get("NAME")):
            raise _invalid(f"Empty property NAME ({key})!")
        upper.setdefault("TYPE", "string")
        checked[str(key)] = upper
    return checked


def _document_type(value: Any) -> list[str]:
    if value in (None, "", []):
        return []
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, str) for v in value) or value[0] != "crm"
            or value[1] not in _DOCUMENT_CLASSES or not _DOCUMENT_CLASSES[value[1]].match(
                value[2])):
        raise _invalid("Wrong activity DOCUMENT_TYPE!")
    return list(value)


def _filter(value: Any) -> dict[str, Any]:
    """Any array passes, as on the portal; only INCLUDE/EXCLUDE lists of rules (a string
    edition, or a list of up to three document type parts) take effect."""
    if _empty(value):
        return {}
    if not isinstance(value, dict | list):
        raise _invalid("Wrong activity FILTER!")
    if isinstance(value, list):
        return {}
    checked: dict[str, Any] = {}
    for key, rules in value.items():
        name = str(key).upper()
        if name in ("INCLUDE", "EXCLUDE") and isinstance(rules, list):
            checked[name] = [r for r in rules if isinstance(r, str) or (
                isinstance(r, list) and all(isinstance(part, str) for part in r))]
    return checked


def _apply(portal: Portal, client_id: str, robot: Robot, fields: dict[str, Any]) -> None:
    """Validate ``fields`` (upper-case keys) and set them on ``robot``."""
    fields = {k: v for k, v in fields.items() if v is not None or k in ("HANDLER", "NAME")}
    if "HANDLER" in fields:
        robot.handler = _check_handler(portal, client_id, fields["HANDLER"])
    if "AUTH_USER_ID" in fields:  # PHP's (int): what is not a number counts as 0
        try:
            robot.auth_user_id = int(str(fields["AUTH_USER_ID"]).strip() or 0)
        except ValueError:
            robot.auth_user_id = 0
    if "USE_SUBSCRIPTION" in fields:
        robot.use_subscription = _subscription(fields["USE_SUBSCRIPTION"])
    if "NAME" in fields:
        if _empty(fields["NAME"]):
            raise _invalid("Empty activity NAME!")
        robot.name = fields["NAME"]
    if "DESCRIPTION" in fields:
        robot.description = fields["DESCRIPTION"] or ""
    if "PROPERTIES" in fields:
        robot.properties = _properties(fields["PROPERTIES"])
    if "RETURN_PROPERTIES" in fields:
        robot.return_properties = _properties(fields["RETURN_PROPERTIES"])
    if "DOCUMENT_TYPE" in fields:
        robot.document_type = _document_type(fields["DOCUMENT_TYPE"])
    if "FILTER" in fields:
        robot.filter = _filter(fields["FILTER"])
    if "USE_PLACEMENT" in fields:
        robot.use_placement = str(fields["USE_PLACEMENT"]).upper() == "Y"
    if fields.get("PLACEMENT_HANDLER"):
        robot.placement_handler = _check_handler(portal, client_id, fields["PLACEMENT_HANDLER"])


def robot_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    client_id = _admin_app(portal, ctx)
    fields = _upper(params)
    if not fields:
        raise _invalid("Empty data!")
    code = _code(fields)
    robot = Robot(client_id=client_id, code=code, handler="", name="")
    _apply(portal, client_id, robot, {"HANDLER": fields.get("HANDLER"),
                                      "NAME": fields.get("NAME"), **fields})
    with portal.state.lock:
        if (client_id, code) in portal.state.robots:
            raise RestError("ERROR_ACTIVITY_ALREADY_INSTALLED",
                            "Activity or Robot already installed!", 400)
        portal.state.robots[(client_id, code)] = robot
    return True


def robot_update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    client_id = _admin_app(portal, ctx)
    upper = _upper(params)
    code = _code(upper)
    with portal.state.lock:
        robot = portal.state.robots.get((client_id, code))
        if robot is None:
            raise RestError("ERROR_ACTIVITY_NOT_FOUND", "Activity or Robot not found!", 400)
        raw = upper.get("FIELDS")
        fields = _upper(raw) if isinstance(raw, dict) else {}
        # like the portal: unset (null) fields and an empty NAME change nothing
        fields = {k: v for k, v in fields.items() if k in _FIELDS and v is not None
                  and not (k == "NAME" and _empty(v))}
        if not fields:
            raise _invalid("No fields to update")
        changed = Robot(**vars(robot))
        _apply(portal, client_id, changed, fields)
        portal.state.robots[(client_id, code)] = changed
    return True


def robot_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    client_id = _admin_app(portal, ctx)
    with portal.state.lock:
        return [code for (owner, code) in portal.state.robots if owner == client_id]


def robot_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    client_id = _admin_app(portal, ctx)
    code = _code(_upper(params))
    with portal.state.lock:
        if portal.state.robots.pop((client_id, code), None) is None:
            raise RestError("ERROR_ACTIVITY_NOT_FOUND", "Activity or Robot not found!", 400)
    return True


def event_send(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    token = pick(params, "EVENT_TOKEN")
    values = pick(params, "RETURN_VALUES", default={})
    if not isinstance(values, dict):  # a scalar or a list names no return property
        values = {}
    if not isinstance(token, str) or not token:
        raise _denied()
    message = pick(params, "LOG_MESSAGE", default="")
    if not portal.automation.event_send(token, values, str(message or "")):
        raise _denied()
    return True


def activity_log(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    token = pick(params, "EVENT_TOKEN")
    message = pick(params, "LOG_MESSAGE")
    if not isinstance(token, str) or not token:
        raise _denied()
    if message in (None, ""):
        raise RestError("ERROR_EMPTY_LOG_MESSAGE", "Empty log message!", 400)
    if not portal.automation.log_message(token, str(message)):
        raise _denied()
    return True


def register(registry: MethodRegistry) -> None:
    for name, handler in (
        ("bizproc.robot.add", robot_add), ("bizproc.robot.update", robot_update),
        ("bizproc.robot.list", robot_list), ("bizproc.robot.delete", robot_delete),
        ("bizproc.event.send", event_send), ("bizproc.activity.log", activity_log),
    ):
        registry.method(name, "bizproc")(handler)

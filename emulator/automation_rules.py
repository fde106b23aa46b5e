"""Checking automation rules before they are set on a stage (see ``emulator.automation``)."""

from __future__ import annotations

from typing import Any

from emulator import crm_catalog
from emulator.errors import InvalidArgument
from emulator.state import PortalState, Robot

DOCUMENT_CLASS = {"deal": "CCrmDocumentDeal", "lead": "CCrmDocumentLead"}


def entity_name(entity: str) -> str:
    name = str(entity).lower()
    if name not in DOCUMENT_CLASS:
        raise InvalidArgument(f"entity must be deal or lead, not {entity!r}")
    return name


def robots_named(state: PortalState, code: str, client_id: str | None = None) -> list[Robot]:
    return [r for (cid, c), r in state.robots.items()
            if c == code and (client_id is None or cid == client_id)]


def filter_allows(robot: Robot, entity: str) -> bool:
    """Whether the robot's ``FILTER`` shows it in this entity's designer (cloud edition)."""
    document = ["crm", DOCUMENT_CLASS[entity], entity.upper()]

    def matches(rule: Any) -> bool:
        if isinstance(rule, str):
            return rule.lower() == "b24"
        return list(rule) == document[: len(rule)]

    include = robot.filter.get("INCLUDE")
    exclude = robot.filter.get("EXCLUDE") or []
    if include and not any(matches(r) for r in include):
        return False
    return not any(matches(r) for r in exclude)


def normalize_rules(state: PortalState, entity: str, stage_id: str,
                    rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules as stored: robots resolved to their app, stages checked (lock held)."""
    if not isinstance(rules, list):
        raise InvalidArgument("rules must be a list")
    stage = _stage(state, entity, stage_id)
    return [_normalize(state, entity, stage, dict(rule)) for rule in rules]


def _stage(state: PortalState, entity: str, stage_id: str) -> Any:
    if entity == "deal":
        return crm_catalog.deal_stage(state, stage_id)
    return crm_catalog.lead_status(state, stage_id)


def _normalize(state: PortalState, entity: str, stage: Any,
               rule: dict[str, Any]) -> dict[str, Any]:
    if "robot" in rule:
        code = str(rule["robot"])
        found = robots_named(state, code, rule.get("app"))
        if not found:
            raise InvalidArgument(f"No app robot {code!r} is registered")
        if len(found) > 1:
            raise InvalidArgument(f"Several apps registered {code!r}: name the app")
        robot = found[0]
        if not filter_allows(robot, entity):
            raise InvalidArgument(f"Robot {code!r} is not offered for {entity}s")
        properties = dict(rule.get("properties") or {})
        for name, spec in robot.properties.items():
            if spec.get("REQUIRED") == "Y" and name not in properties and (
                    spec.get("DEFAULT") in (None, "")):
                raise InvalidArgument(f"Robot {code!r} needs property {name!r}")
        normalized = {"robot": code, "app": robot.client_id, "properties": properties,
                      "timeout": int(rule.get("timeout") or 0)}
        if "use_subscription" in rule:  # the rule's setting, used when the robot has none
            normalized["use_subscription"] = bool(rule["use_subscription"])
        return normalized
    builtin = rule.get("builtin")
    if builtin == "change_stage":
        target = str(rule.get("stage_id") or rule.get("status_id") or "")
        moved_to = _stage(state, entity, target)
        if entity == "deal" and (moved_to.category_id or 0) != (stage.category_id or 0):
            raise InvalidArgument(f"Stage {target!r} is in another funnel")
        return {"builtin": "change_stage", "stage_id": target}
    if builtin == "wait":
        seconds = int(rule.get("seconds") or 0)
        if seconds <= 0:
            raise InvalidArgument("wait needs seconds > 0")
        return {"builtin": "wait", "seconds": seconds}
    raise InvalidArgument(f"Unknown rule {rule!r}")

"""The HTTP control API under ``/_emulator/`` (JSON), mirroring the Python facade."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator.delivery import Delivery
from emulator.errors import EmulatorError, RestError
from emulator.kanban import render_kanban_card
from emulator.user_actions import UserActions

if TYPE_CHECKING:
    from emulator.portal import Portal

_ACTIONS = frozenset(
    name for name in dir(UserActions) if not name.startswith("_") and name not in ("open",)
)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status,
                    content_type="application/json; charset=utf-8")


class ControlApi:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def handle(self, request: Request, route: str) -> Response:
        parts = [p for p in route.split("/") if p]
        body = request.get_json(silent=True) or {}
        if request.method == "GET" and not body:
            body = request.args.to_dict()  # e.g. ?lang=it for a kanban card
        try:
            handler, args = self._route(request.method, parts)
            return _json(handler(body, *args))
        except KeyError as exc:
            return _json({"error": "NOT_FOUND", "error_description": str(exc)}, 404)
        except (EmulatorError, TypeError, ValueError, LookupError) as exc:
            status = exc.status if isinstance(exc, RestError) else 400
            return _json({"error": type(exc).__name__, "error_description": str(exc)}, status)

    def _route(self, verb: str, parts: list[str]) -> tuple[Callable[..., Any], list[str]]:
        routes: dict[tuple[str, str], Callable[..., Any]] = {
            ("GET", "health"): lambda b: {"ok": True, "url": self.portal.base_url,
                                          "task_card": self.portal.task_card,
                                          "language": self.portal.language},
            ("POST", "reset"): self._reset,
            ("GET", "users"): self._users,
            ("POST", "users"): self._add_user,
            ("POST", "webhooks"): lambda b: {"url": self.portal.add_webhook(
                str(b["code"]), int(b.get("user_id", 1)))},
            ("POST", "apps"): self._register_app,
            ("POST", "act"): self._act,
            ("POST", "categories"): lambda b: {"id": self.portal.add_deal_category(b["name"])},
            ("POST", "userfields"): lambda b: {"field_name": self.portal.add_user_field(
                b["entity"], b["field_name"], b.get("user_type_id", "string"),
                b.get("values"), bool(b.get("multiple")))},
            ("GET", "calls"): lambda b: [dataclasses.asdict(r)
                                         for r in self.portal.call_log.records()],
            ("GET", "events"): self._events,
            ("POST", "limits"): lambda b: dataclasses.asdict(self.portal.set_limits(**b)),
            ("POST", "faults"): lambda b: {"ok": bool(self.portal.set_faults(**b))},
            ("POST", "tokens/expire"): lambda b: self.portal.expire_tokens() or {"ok": True},
            ("POST", "clock/advance"): lambda b: self.portal.advance_time(
                float(b["seconds"])) or {"now": self.portal.clock.iso()},
        }
        key = "/".join(parts)
        if (verb, key) in routes:
            return routes[(verb, key)], []
        if len(parts) == 3 and parts[0] == "apps" and verb == "POST":
            return self._app_routes()[parts[2]], [parts[1]]
        if len(parts) == 2 and verb == "GET" and parts[0] in ("deals", "leads", "tasks"):
            return self._item, [parts[0], parts[1]]
        if parts and parts[0] in ("automation", "workflows", "robots"):
            return self._automation_route(verb, parts)
        if parts and parts[0] == "kanban":
            return self._kanban_route(verb, parts)
        raise KeyError(f"{verb} /_emulator/{key}")

    def _automation_route(self, verb: str, parts: list[str]
                          ) -> tuple[Callable[..., Any], list[str]]:
        """``automation/{entity}/{stage}`` (POST rules, GET them), ``workflows/{id}``,
        ``workflows/{entity}/{item_id}``, ``POST workflows/{id}/redeliver``, ``robots``."""
        portal = self.portal
        shape = (verb, parts[0], len(parts))
        if shape == ("POST", "automation", 3):
            def set_rules(body: Any, entity: str, stage: str) -> dict[str, Any]:
                rules = body if isinstance(body, list) else body.get("rules", [])
                portal.set_automation_rules(entity, stage, rules)
                return {"ok": True, "rules": portal.automation_rules(entity, stage)}
            return set_rules, parts[1:]
        if shape == ("GET", "automation", 3):
            return lambda b, e, s: portal.automation_rules(e, s), parts[1:]
        if shape == ("GET", "workflows", 2):
            return lambda b, w: portal.workflow(w), parts[1:]
        if shape == ("GET", "workflows", 3):
            return lambda b, e, i: portal.workflows(e, int(i)), parts[1:]
        if shape == ("POST", "workflows", 3) and parts[2] == "redeliver":
            return lambda b, w: {"ok": bool(portal.redeliver_robot_call(w))}, parts[1:2]
        if shape == ("GET", "robots", 1):
            return lambda b: portal.robots(), []
        raise KeyError(f"{verb} /_emulator/{'/'.join(parts)}")

    def _kanban_route(self, verb: str, parts: list[str]
                      ) -> tuple[Callable[..., Any], list[str]]:
        """``kanban/{entity}/{id}`` (the card; ``?lang=``), ``.../{id}/text``,
        ``.../{id}/activities``, ``kanban/{entity}/fields`` (POST ``{fields}``, GET)."""
        portal = self.portal
        shape = (verb, len(parts))
        if len(parts) == 3 and parts[2] == "fields":
            if verb == "POST":
                def set_fields(body: Any, entity: str) -> dict[str, Any]:
                    names = body if isinstance(body, list) else body.get("fields", [])
                    return {"fields": portal.set_kanban_card_fields(entity, names)}
                return set_fields, parts[1:2]
            if verb == "GET":
                return lambda b, e: {"fields": portal.kanban_card_fields(e)}, parts[1:2]
        if shape == ("GET", 3):
            return lambda b, e, i: portal.kanban_card(e, int(i), b.get("lang")), parts[1:]
        if shape == ("GET", 4) and parts[3] == "text":
            return lambda b, e, i: {"text": render_kanban_card(
                portal.kanban_card(e, int(i), b.get("lang")))}, parts[1:3]
        if shape == ("GET", 4) and parts[3] == "activities":
            return lambda b, e, i: portal.configurable_activities(
                int(e) if e.isascii() and e.isdigit() else e, int(i)), parts[1:3]
        raise KeyError(f"{verb} /_emulator/{'/'.join(parts)}")

    def _reset(self, body: dict[str, Any]) -> dict[str, Any]:
        self.portal.reset()
        return {"ok": True}

    def _users(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [dataclasses.asdict(u) for u in self.portal.state.users.values()]

    def _add_user(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.portal.add_user(
            body["name"], body.get("last_name", ""), email=body.get("email", ""),
            admin=bool(body.get("admin")), work_position=body.get("work_position", ""))}

    def _register_app(self, body: dict[str, Any]) -> dict[str, Any]:
        app = self.portal.register_app(body["client_id"], body["client_secret"],
                                       body.get("handler_url", ""), body.get("scope"))
        return {"client_id": app.client_id}

    def _app_routes(self) -> dict[str, Callable[..., Any]]:
        portal = self.portal

        def install(body: dict[str, Any], client_id: str) -> dict[str, Any]:
            done = portal.install_app(client_id, body.get("how", "page"),
                                      int(body.get("user_id", 1)), body.get("handler_url"))
            return {"application_token": done.application_token,
                    "access_token": done.tokens.access_token,
                    "refresh_token": done.tokens.refresh_token,
                    "delivery_status": done.delivery.status,
                    "delivery_error": done.delivery.error}

        def tokens(body: dict[str, Any], client_id: str) -> dict[str, Any]:
            return dataclasses.asdict(portal.issue_tokens(client_id, int(body.get("user_id", 1))))

        return {
            "install": install,
            "finish-install": lambda b, c: portal.finish_install(c) or {"ok": True},
            "update": lambda b, c: {"ok": True, "sent": portal.update_app(
                c, b.get("version")) is not None,
                "application_token": portal.app(c).application_token},
            "uninstall": lambda b, c: {"ok": True, "sent": portal.uninstall_app(
                c, bool(b.get("clean"))) is not None},
            "tokens": tokens,
        }

    def _act(self, body: dict[str, Any]) -> dict[str, Any]:
        action = str(body["action"])
        if action not in _ACTIONS:
            raise KeyError(f"unknown action {action}")
        actor = self.portal.as_user(int(body.get("user_id", 1)))
        result = getattr(actor, action)(*body.get("args", []), **body.get("kwargs", {}))
        if isinstance(result, Delivery):  # a placement POST the user's browser made
            result = {"handler": result.handler, "status": result.status,
                      "error": result.error}
        return {"ok": True, "result": result}

    def _events(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"event": d.event, "handler": d.handler, "payload": d.payload,
                 "status": d.status, "error": d.error, "done": d.done.is_set()}
                for d in self.portal.delivered_events]

    def _item(self, body: dict[str, Any], kind: str, item_id: str) -> dict[str, Any]:
        getter = {"deals": self.portal.deal, "leads": self.portal.lead,
                  "tasks": self.portal.task}[kind]
        return getter(int(item_id))

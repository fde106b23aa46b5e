"""Automation rules on deal and lead stages, and the workflows they start.

Contract (the Python facade and the control API build on these names):

- ``portal.set_automation_rules(entity, stage_id, rules)``: ``entity`` is ``"deal"``
  or ``"lead"``; ``rules`` is a list of ``{"robot": CODE, "properties": {...},
  "app": client_id (only when two apps share CODE), "timeout": seconds}``,
  ``{"builtin": "change_stage", "stage_id": "WON"}`` (leads: ``"status_id"``) or
  ``{"builtin": "wait", "seconds": N}``. An empty list removes the stage's rules.
- When an item enters the stage (created in it, REST update, a user's move, or a
  ``change_stage`` rule), a workflow starts and its rules run in order; any other
  workflow of the item still running or waiting is terminated.
- A robot rule POSTs to its ``HANDLER`` (form-encoded, from the event sender's
  thread): ``workflow_id``, ``code``, ``document_id[0..2]``, ``document_type[0..2]``,
  ``event_token``, ``properties[...]``, ``use_subscription``, ``timeout_duration``,
  ``ts``, ``auth[...]``. With ``USE_SUBSCRIPTION`` other than ``N`` the workflow waits
  for ``bizproc.event.send``; otherwise it goes on once the POST was made.
- ``portal.workflows(entity, item_id)`` / ``portal.workflow(id)`` answer dicts:
  ``{id, entity, item_id, stage_id, state, started, finished, document_id, rules:
  [{kind, code, client_id, state, properties, return_values, log, event_token,
  delivery_status, delivery_error}]}``; workflow states ``running``, ``waiting``,
  ``completed``, ``failed``, ``terminated``; rule states ``pending``, ``running``,
  ``waiting``, ``completed``, ``timed_out``, ``failed``, ``skipped``, ``terminated``.
"""

from __future__ import annotations

import copy
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.automation_rules import DOCUMENT_CLASS, entity_name, normalize_rules
from emulator.context import Change
from emulator.delivery import Delivery
from emulator.errors import InvalidArgument
from emulator.state import Robot

if TYPE_CHECKING:
    from emulator.portal import Portal

MAX_CHAIN = 20  # stage changes one workflow may set off in a row, against rule loops
ACTIVE = ("running", "waiting")


@dataclass
class RuleRun:
    """One rule of a workflow and what became of it."""

    kind: str  # "robot", "change_stage" or "wait"
    spec: dict[str, Any]
    state: str = "pending"
    code: str = ""
    client_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    return_values: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    event_token: str | None = None
    due: float | None = None
    payload: dict[str, Any] | None = None
    handler: str = ""
    use_subscription: bool = True
    is_timeout: bool = False
    delivery_status: int | None = None
    delivery_error: str | None = None

    def render(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code, "client_id": self.client_id,
                "state": self.state, "properties": copy.deepcopy(self.properties),
                "return_values": copy.deepcopy(self.return_values), "log": list(self.log),
                "event_token": self.event_token, "use_subscription": self.use_subscription,
                "is_timeout": self.is_timeout, "delivery_status": self.delivery_status,
                "delivery_error": self.delivery_error, "spec": copy.deepcopy(self.spec)}


@dataclass
class Workflow:
    id: str
    entity: str
    item_id: int
    stage_id: str
    rules: list[RuleRun]
    started: float
    chain: int = 0
    state: str = "running"
    position: int = 0
    finished: float | None = None

    @property
    def document_id(self) -> list[str]:
        return ["crm", DOCUMENT_CLASS[self.entity], f"{self.entity.upper()}_{self.item_id}"]

    def render(self, clock_iso: Any) -> dict[str, Any]:
        return {"id": self.id, "entity": self.entity, "item_id": self.item_id,
                "stage_id": self.stage_id, "state": self.state,
                "started": clock_iso(self.started),
                "finished": clock_iso(self.finished) if self.finished else None,
                "document_id": self.document_id, "rules": [r.render() for r in self.rules]}


class AutomationService:
    """Stage rules, workflow runs and the robot calls they make."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.state = portal.state
        self._chain = threading.local()

    # robots -------------------------------------------------------------------
    def drop_robots(self, client_id: str) -> None:
        """An app's uninstall or update removes its robots; rules using them stay."""
        with self.state.lock:
            for key in [k for k in self.state.robots if k[0] == client_id]:
                del self.state.robots[key]

    # rules --------------------------------------------------------------------
    def set_rules(self, entity: str, stage_id: str, rules: list[dict[str, Any]]) -> None:
        entity = entity_name(entity)
        with self.state.lock:
            normalized = normalize_rules(self.state, entity, stage_id, rules)
            if normalized:
                self.state.automation_rules[(entity, stage_id)] = normalized
            else:
                self.state.automation_rules.pop((entity, stage_id), None)

    def rules(self, entity: str, stage_id: str) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.automation_rules.get(
                (entity_name(entity), stage_id), []))

    # workflows ----------------------------------------------------------------
    def stage_entered(self, entity: str, item_id: int, stage_id: str) -> None:
        """An item is now in ``stage_id``: end its other workflows, start this stage's."""
        chain = getattr(self._chain, "depth", 0)
        with self.state.lock:
            for workflow in self.state.workflows.values():
                if (workflow.entity, workflow.item_id) == (entity, item_id) and (
                        workflow.state in ACTIVE):
                    self._finish(workflow, "terminated", "The item left the stage")
            rules = self.state.automation_rules.get((entity, stage_id))
            if not rules:
                return
            workflow = Workflow(
                id=f"{secrets.token_hex(7)[:13]}.{secrets.randbelow(10 ** 8):08d}",
                entity=entity, item_id=item_id, stage_id=stage_id, chain=chain,
                started=self.portal.clock.now(),
                rules=[RuleRun("robot" if "robot" in r else r["builtin"], copy.deepcopy(r))
                       for r in rules],
            )
            self.state.workflows[workflow.id] = workflow
            if chain >= MAX_CHAIN:
                self._finish(workflow, "failed", "Too many stage changes in a row")
                return
            self._advance(workflow)

    def _advance(self, workflow: Workflow) -> None:
        """Run rules from the current one until one has to wait (lock held)."""
        while workflow.state in ACTIVE and workflow.position < len(workflow.rules):
            rule = workflow.rules[workflow.position]
            if rule.state in ("running", "waiting"):
                return
            if rule.kind == "robot":
                self._call_robot(workflow, rule)
                return
            if rule.kind == "wait":
                rule.state, workflow.state = "waiting", "waiting"
                rule.due = self.portal.clock.now() + rule.spec["seconds"]
                return
            self._change_stage(workflow, rule)
            return
        if workflow.state in ACTIVE:
            self._finish(workflow, "completed")

    def _next(self, workflow: Workflow) -> None:
        workflow.position += 1
        workflow.state = "running"
        self._advance(workflow)

    def _finish(self, workflow: Workflow, state: str, message: str = "") -> None:
        workflow.state, workflow.finished = state, self.portal.clock.now()
        for rule in workflow.rules:
            if rule.state in ACTIVE:
                rule.state = "terminated" if state == "terminated" else "failed"
                if message:
                    rule.log.append(message)
            elif rule.state == "pending":
                rule.state = "skipped"

    def _change_stage(self, workflow: Workflow, rule: RuleRun) -> None:
        """The built-in "change stage": this workflow ends, the item moves on."""
        target = rule.spec["stage_id"]
        rule.state = "completed"
        rule.log.append(f"Stage changed to {target}")
        self._finish(workflow, "completed")
        item = (self.state.deals if workflow.entity == "deal" else self.state.leads).get(
            workflow.item_id)
        if item is None:
            rule.state = "failed"
            rule.log[-1] = "The item no longer exists"
            return
        change = Change(item.assigned_by_id)
        self._chain.depth = workflow.chain + 1
        try:
            if workflow.entity == "deal":
                self.portal.crm.update_deal(change, item.id, {"STAGE_ID": target})
            else:
                self.portal.crm.update_lead(change, item.id, {"STATUS_ID": target})
        finally:
            self._chain.depth = workflow.chain

    # robot calls ----------------------------------------------------------------
    def _call_robot(self, workflow: Workflow, rule: RuleRun) -> None:
        code, client_id = rule.spec["robot"], rule.spec["app"]
        rule.code, rule.client_id = code, client_id
        robot = self.state.robots.get((client_id, code))
        app = self.state.apps.get(client_id)
        if robot is None or app is None or not app.installed:
            rule.state = "failed"
            rule.log.append(f"Robot {code} is not available (its app removed it)")
            self._finish(workflow, "failed")
            return
        item = (self.state.deals if workflow.entity == "deal" else self.state.leads).get(
            workflow.item_id)
        user_id = robot.auth_user_id if robot.auth_user_id in self.state.users else (
            item.assigned_by_id if item else 1)
        rule.properties = self._properties(robot, rule.spec["properties"])
        rule.event_token = (f"{workflow.id}|A{secrets.randbelow(10 ** 5):05d}_"
                            f"{secrets.randbelow(10 ** 5):05d}|{secrets.token_hex(16)}|"
                            f"{secrets.token_hex(16)}")
        rule.state = "running"
        rule.handler = robot.handler
        rule.use_subscription = (robot.use_subscription if robot.use_subscription is not None
                                 else rule.spec.get("use_subscription", True))
        rule.return_values = {name: spec["DEFAULT"] for name, spec in
                              robot.return_properties.items() if "DEFAULT" in spec}
        rule.payload = {
            "workflow_id": workflow.id, "code": code,
            "document_id": workflow.document_id,
            "document_type": ["crm", DOCUMENT_CLASS[workflow.entity], workflow.entity.upper()],
            "event_token": rule.event_token,
            "properties": rule.properties,
            "use_subscription": "Y" if rule.use_subscription else "N",
            "timeout_duration": str(rule.spec["timeout"]),
            "ts": str(int(self.portal.clock.now())),
            "auth": self.portal.events.auth_block(app, user_id),
        }
        if rule.use_subscription and rule.spec["timeout"]:
            rule.due = self.portal.clock.now() + rule.spec["timeout"]
        self._send(workflow.id, workflow.position, rule)

    def _send(self, workflow_id: str, index: int, rule: RuleRun) -> Delivery:
        delivery = Delivery(event="ROBOT", handler=rule.handler,
                            payload=copy.deepcopy(rule.payload) or {},
                            on_done=lambda d: self._delivered(workflow_id, index, d))
        self.portal.sender.submit(delivery)
        return delivery

    @staticmethod
    def _properties(robot: Robot, given: dict[str, Any]) -> dict[str, Any]:
        """Rule values over the robot's defaults, as the handler receives them."""
        values: dict[str, Any] = {}
        for name, spec in robot.properties.items():
            value = given.get(name, spec.get("DEFAULT"))
            if value is None:
                continue
            values[name] = _render_value(value, str(spec.get("TYPE") or "string"))
        return values

    def _delivered(self, workflow_id: str, index: int, delivery: Delivery) -> None:
        with self.state.lock:
            workflow = self.state.workflows.get(workflow_id)
            if workflow is None:
                return
            rule = workflow.rules[index]
            rule.delivery_status, rule.delivery_error = delivery.status, delivery.error
            if not delivery.delivered:
                rule.log.append(f"Handler answered {delivery.status or delivery.error}")
            if rule.state != "running" or workflow.state not in ACTIVE:
                return
            if not rule.use_subscription:
                rule.state = "completed"
                self._next(workflow)
            else:
                rule.state, workflow.state = "waiting", "waiting"

    def redeliver(self, workflow_id: str) -> Delivery:
        """Send the workflow's last robot POST again, unchanged (a duplicate delivery)."""
        with self.state.lock:
            workflow = self.state.workflows[workflow_id]
            sent = [(i, r) for i, r in enumerate(workflow.rules) if r.payload is not None]
            if not sent:
                raise InvalidArgument(f"Workflow {workflow_id} has sent no robot call")
            index, rule = sent[-1]
            return self._send(workflow_id, index, rule)

    # answers from the app -------------------------------------------------------
    def find_token(self, token: str) -> tuple[Workflow, RuleRun] | None:
        """The active robot rule holding ``token``, if any (lock held by the caller)."""
        workflow = self.state.workflows.get(token.split("|", 1)[0])
        if workflow is None or workflow.state not in ACTIVE:
            return None
        for rule in workflow.rules:
            if rule.event_token and secrets.compare_digest(rule.event_token, token) and (
                    rule.state in ACTIVE):
                return workflow, rule
        return None

    def event_send(self, token: str, return_values: dict[str, Any], message: str) -> bool:
        """``bizproc.event.send``: False when the token is unknown, used or expired."""
        self.tick()
        with self.state.lock:
            found = self.find_token(token)
            if found is None:
                return False
            workflow, rule = found
            robot = self.state.robots.get((rule.client_id or "", rule.code))
            wanted = robot.return_properties if robot else {}
            by_upper = {str(k).upper(): v for k, v in return_values.items()}
            rule.return_values.update({name: by_upper[name.upper()] for name in wanted
                                       if name.upper() in by_upper})
            if message:
                rule.log.append(message)
            rule.state = "completed"
            self._next(workflow)
            return True

    def log_message(self, token: str, message: str) -> bool:
        """``bizproc.activity.log``: a line in the rule's log, the workflow still waiting."""
        with self.state.lock:
            found = self.find_token(token)
            if found is None:
                return False
            found[1].log.append(message)
            return True

    def tick(self) -> None:
        """Wake waits and robot timeouts whose time has come on the portal clock."""
        now = self.portal.clock.now()
        with self.state.lock:
            for workflow in list(self.state.workflows.values()):
                if workflow.state not in ACTIVE or workflow.position >= len(workflow.rules):
                    continue
                rule = workflow.rules[workflow.position]
                if rule.state in ACTIVE and rule.due is not None and rule.due <= now:
                    if rule.kind == "robot":
                        rule.state, rule.is_timeout = "timed_out", True
                        rule.log.append("No answer before the timeout")
                    else:
                        rule.state = "completed"
                    self._next(workflow)

    # reading --------------------------------------------------------------------
    def workflows(self, entity: str, item_id: int) -> list[dict[str, Any]]:
        self.tick()
        entity = entity_name(entity)
        with self.state.lock:
            return [w.render(self.portal.clock.iso) for w in self.state.workflows.values()
                    if (w.entity, w.item_id) == (entity, int(item_id))]

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        self.tick()
        with self.state.lock:
            return self.state.workflows[workflow_id].render(self.portal.clock.iso)


def _render_value(value: Any, kind: str) -> Any:
    """A property value the way the handler's form carries it."""
    if isinstance(value, list):
        return [_render_value(v, kind) for v in value]
    if isinstance(value, bool):
        return "Y" if value else "N"
    if kind == "user" and isinstance(value, int):
        return f"user_{value}"
    return value if isinstance(value, dict) else str(value)

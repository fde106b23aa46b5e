"""A call of one of TaskBridge's automation rules (robots), read once and strictly.

When a deal or lead reaches a stage whose automation runs a TaskBridge rule, the portal
POSTs a form to the rule's handler: `workflow_id`, `code`, `document_id` (e.g.
`['crm', 'CCrmDocumentDeal', 'DEAL_42']`), `document_type`, `event_token`,
`properties[...]`, `use_subscription`, `timeout_duration`, `ts` and `auth[...]`.
`parse_robot_call` turns it into a `RobotCall`; `create_task_ask` and `wait_ask` read the
properties each rule takes; the `answer_*` functions build what goes back to the
workflow (`RETURN_VALUES` and a `LOG_MESSAGE` the admin sees in the workflow's log).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from mappers.bindings import DEAL, LEAD, CrmRef
from mappers.errors import InvalidIdError, ValidationError, excerpt
from mappers.ids import parse_id
from mappers.portal_events import EventAuth, PortalEvent
from mappers.snapshots import COMPLETED, SUPPOSEDLY_COMPLETED
from mappers.statuses import CrmTaskStatus, label

CREATE_TASK = "taskbridge_create_task"
WAIT_FOR_TASKS = "taskbridge_wait_for_tasks"
TASK_STATUS = "taskbridge_task_status"
CODES = (CREATE_TASK, WAIT_FOR_TASKS, TASK_STATUS)
ROBOT_EVENT = "TASKBRIDGE_ROBOT"  # the journal's name for a robot call

# The document classes of deals and leads, and the prefix of their document ids.
DOCUMENTS = {"CCrmDocumentDeal": ("DEAL", DEAL), "CCrmDocumentLead": ("LEAD", LEAD)}

MAX_TITLE = 255
MAX_DESCRIPTION = 10_000
MAX_CHECKLIST_ITEMS = 40
MAX_CHECKLIST_ITEM = 255
MAX_TEXT = 64  # workflow ids, codes, member ids
MAX_OFFSET_DAYS = 3650

_WORKFLOW_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
_MEMBER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{1,512}", re.ASCII)  # tokens: printable ASCII, no space
_USER = re.compile(r"(?:user_)?([0-9]{1,18})", re.ASCII)
_OFFSET = re.compile(r"\+\s*([0-9]{1,5})\s*([^\W\d_]+)", re.ASCII | re.IGNORECASE)
_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "minuto", "minuti"), 60),
    **dict.fromkeys(("h", "hour", "hours", "ora", "ore"), 3600),
    **dict.fromkeys(("d", "day", "days", "giorno", "giorni"), 86400),
    **dict.fromkeys(("w", "week", "weeks", "settimana", "settimane"), 7 * 86400),
}
_PORTAL_DATE = re.compile(
    r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})(?:\s+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?",
    re.ASCII)
_YES = frozenset({"Y", "y", "1", "true", "yes"})
_NO = frozenset({"N", "n", "0", "false", "no", ""})


class RobotCallError(ValidationError):
    """A robot call TaskBridge cannot read; `field` names the value at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class RobotCall:
    """One run of a TaskBridge rule on a deal or lead. Secrets stay out of the repr."""

    member_id: str
    workflow_id: str
    code: str
    item: CrmRef
    event_token: str = field(repr=False)
    application_token: str = field(repr=False)
    properties: Mapping[str, Any] = field(default_factory=dict)
    ts: int | None = None
    use_subscription: bool = True
    domain: str = ""
    user_id: int | None = None  # AUTH_USER_ID: the user whose tokens came with the call

    @property
    def call_key(self) -> str:
        """Equal for every delivery of this one call: its workflow and its event token."""
        blob = f"{self.workflow_id}\n{self.event_token}".encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def idempotency_key(self) -> str:
        """The `Idempotency-Key` of the task this call creates (REST 3.0)."""
        return f"taskbridge-robot-{self.call_key}"

    def journal_payload(self, sealed_event_token: str) -> dict[str, Any]:
        """What the journal keeps (and the sync log shows): no secret in clear."""
        return {"workflow_id": self.workflow_id, "code": self.code, "item": self.item.code,
                "properties": dict(self.properties), "ts": self.ts,
                "use_subscription": self.use_subscription, "call_key": self.call_key,
                "user_id": self.user_id, "sealed_event_token": sealed_event_token}


class RobotEvent(PortalEvent):
    """A robot call as the journal queues it: about its deal or lead, so it is processed
    in order with that item's events."""

    @property
    def known(self) -> bool:
        return True

    @property
    def object_type(self) -> str:
        return str(self.data["kind"])

    @property
    def object_id(self) -> str:
        return str(self.data["item_id"])


def robot_event(call: RobotCall) -> RobotEvent:
    """The journal event of a call: a repeated delivery has the same dedupe key."""
    return RobotEvent(
        name=ROBOT_EVENT, ts=call.ts,
        data={"kind": call.item.kind, "item_id": call.item.id, "workflow_id": call.workflow_id,
              "call_key": call.call_key},
        auth=EventAuth(member_id=call.member_id, application_token=call.application_token,
                       domain=call.domain, user_id=call.user_id),
    )


def from_journal(member_id: str, payload: Mapping[str, Any], event_token: str) -> RobotCall:
    """The call back from its journal payload, its event token unsealed by the caller."""
    item = payload.get("item")
    code = payload.get("code")
    if not isinstance(item, str) or code not in CODES:
        raise RobotCallError("payload", "not a robot call's journal payload")
    kind, _, number = item.partition("_")
    document = {"D": "CCrmDocumentDeal", "L": "CCrmDocumentLead"}.get(kind, "")
    prefix = DOCUMENTS.get(document, ("", 0))[0]
    return RobotCall(
        member_id=member_id, workflow_id=str(payload.get("workflow_id", "")), code=str(code),
        item=document_item(["crm", document or "-", f"{prefix}_{number}"]),
        event_token=event_token, application_token="",
        properties=dict(payload.get("properties") or {}),
        ts=_optional_number(payload.get("ts"), "ts"),
        user_id=_optional_number(payload.get("user_id"), "user_id"),
    )


@dataclass(frozen=True)
class TaskAsk:
    """The task a "Create a task" call asks for."""

    title: str
    responsible_id: int
    description: str = ""
    deadline: datetime | None = None
    checklist: tuple[str, ...] = ()
    task_control: bool = False
    result_required: bool = False


@dataclass(frozen=True)
class Answer:
    """What goes back to the workflow: its return values and a line for its log."""

    values: Mapping[str, Any]
    log_message: str
    failed: bool = False


def parse_robot_call(body: Mapping[str, Any]) -> RobotCall:
    """Validate a robot call's nested form; `RobotCallError` names the first bad value."""
    auth = body.get("auth")
    if not isinstance(auth, Mapping):
        raise RobotCallError("auth", "missing; every robot call carries auth[member_id]")
    member_id = _matching(auth, "member_id", _MEMBER_ID, "auth.member_id")
    application_token = _matching(auth, "application_token", _TOKEN, "auth.application_token")
    code = _text(body, "code")
    if code not in CODES:
        raise RobotCallError("code", f"not a TaskBridge rule: {excerpt(code)}")
    properties = body.get("properties", {})
    if properties in ("", None):
        properties = {}
    if not isinstance(properties, Mapping):
        raise RobotCallError("properties", "must be a set of named values")
    return RobotCall(
        member_id=member_id,
        workflow_id=_matching(body, "workflow_id", _WORKFLOW_ID, "workflow_id"),
        code=code,
        item=document_item(body.get("document_id"), body.get("document_type")),
        event_token=_matching(body, "event_token", _TOKEN, "event_token"),
        application_token=application_token,
        properties=dict(properties),
        ts=_optional_number(body.get("ts"), "ts"),
        use_subscription=flag(body.get("use_subscription", "Y"), "use_subscription"),
        domain=_text(auth, "domain", "auth.domain", limit=255),
        user_id=_optional_number(auth.get("user_id"), "auth.user_id") or None,
    )


def document_item(document_id: object, document_type: object = None) -> CrmRef:
    """The deal or lead a workflow runs on, from `['crm', 'CCrmDocumentDeal', 'DEAL_42']`."""
    parts = _triple(document_id, "document_id")
    module, document, name = parts
    if module != "crm" or document not in DOCUMENTS:
        raise RobotCallError("document_id", "TaskBridge's rules run on deals and leads only")
    prefix, entity_type_id = DOCUMENTS[document]
    kind, _, number = name.partition("_")
    if kind != prefix:
        raise RobotCallError("document_id", f"expected {prefix}_<id>, got {excerpt(name)}")
    try:
        item_id = parse_id(number, "document_id")
    except InvalidIdError as exc:
        raise RobotCallError("document_id", "the item's ID is not 1 to 18 digits") from exc
    if document_type not in (None, ""):
        given = _triple(document_type, "document_type")
        if given != ("crm", document, prefix):
            raise RobotCallError("document_type", "does not match document_id")
    return CrmRef(entity_type_id, item_id)


def create_task_ask(call: RobotCall, *, run_at: datetime, zone: tzinfo) -> TaskAsk:
    """The task "Create a task" asks for; `run_at` is when the rule ran (offsets count from
    it), `zone` the time zone of a date given without one."""
    props = call.properties
    title = _property(props, "Title").strip()
    if not title or len(title) > MAX_TITLE:
        raise RobotCallError("Title", f"required, at most {MAX_TITLE} characters")
    description = _property(props, "Description")
    if len(description) > MAX_DESCRIPTION:
        raise RobotCallError("Description", f"at most {MAX_DESCRIPTION} characters")
    deadline_at, deadline_in = _property(props, "Deadline"), _property(props, "DeadlineIn")
    if deadline_at.strip() and deadline_in.strip():
        raise RobotCallError("Deadline", "give a date or an offset (DeadlineIn), not both")
    deadline = None
    if deadline_at.strip():
        deadline = parse_date(deadline_at, zone)
    elif deadline_in.strip():
        deadline = run_at + parse_offset(deadline_in)
    return TaskAsk(
        title=title,
        responsible_id=user_id(props.get("Responsible"), "Responsible"),
        description=description,
        deadline=deadline,
        checklist=checklist_items(_property(props, "Checklist")),
        task_control=flag(props.get("CheckOnCompletion", "N"), "CheckOnCompletion"),
        result_required=flag(props.get("ResultRequired", "N"), "ResultRequired"),
    )


def wait_ask(call: RobotCall) -> bool:
    """Whether "Wait for the item's tasks" counts a task pending review as done."""
    return flag(call.properties.get("PendingReviewDone", "N"), "PendingReviewDone")


def user_id(value: object, name: str) -> int:
    """A `user` property: `user_12`, `12`, or a list holding one of them."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value.values()))
    text = value if isinstance(value, str) else ""
    found = _USER.fullmatch(text.strip())
    number = int(found.group(1)) if found else 0
    if number <= 0:
        raise RobotCallError(name, "a user is required (user_<id> or an ID)")
    return number


def flag(value: object, name: str) -> bool:
    """A `bool` property: Y or N (1/0, true/false are read too)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip() in _YES:
        return True
    if isinstance(value, str) and value.strip() in _NO:
        return False
    raise RobotCallError(name, "must be Y or N")


def checklist_items(text: str) -> tuple[str, ...]:
    """One checklist item per line; blank lines left out."""
    items = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(items) > MAX_CHECKLIST_ITEMS:
        raise RobotCallError("Checklist", f"at most {MAX_CHECKLIST_ITEMS} items")
    if any(len(item) > MAX_CHECKLIST_ITEM for item in items):
        raise RobotCallError("Checklist", f"each item at most {MAX_CHECKLIST_ITEM} characters")
    return items


def parse_offset(text: str) -> timedelta:
    """An offset such as `+3 days`, `+2h`, `+1 settimana`: minutes to weeks, one unit."""
    found = _OFFSET.fullmatch(text.strip())
    if found is None or found.group(2).lower() not in _UNITS:
        raise RobotCallError("DeadlineIn", "expected +N minutes, hours, days or weeks, "
                                           f"got {excerpt(text)}")
    offset = timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2).lower()])
    if offset > timedelta(days=MAX_OFFSET_DAYS):
        raise RobotCallError("DeadlineIn", f"at most {MAX_OFFSET_DAYS} days ahead")
    return offset


def parse_date(text: str, zone: tzinfo) -> datetime:
    """A `datetime` property: ISO 8601, or the portal's DD.MM.YYYY [HH:MM[:SS]]."""
    text = text.strip()
    portal = _PORTAL_DATE.fullmatch(text)
    try:
        if portal is not None:
            day, month, year, hour, minute, second = portal.groups()
            moment = datetime(int(year), int(month), int(day), int(hour or 0),
                              int(minute or 0), int(second or 0))
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RobotCallError("Deadline", f"not a date and time: {excerpt(text)}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def is_open(real_status: int, *, pending_review_done: bool) -> bool:
    """Whether a task still holds a waiting workflow: not completed (real status 5), and
    not pending review (4) when that counts as done."""
    done = (COMPLETED, SUPPOSEDLY_COMPLETED) if pending_review_done else (COMPLETED,)
    return real_status not in done


def open_count(real_statuses: Iterable[int], *, pending_review_done: bool = False) -> int:
    """How many of an item's tasks are open."""
    return sum(is_open(status, pending_review_done=pending_review_done)
               for status in real_statuses)


def answer_created(task_id: int) -> Answer:
    return Answer({"TaskId": task_id, "Error": ""}, f"TaskBridge: task {task_id} created")


def answer_waited(done: int) -> Answer:
    return Answer({"Error": ""}, f"TaskBridge: every task of the item is done ({done})")


def answer_status(status: CrmTaskStatus | None, open_tasks: int, language: str) -> Answer:
    """The item's CRM task status (code and label) and its open tasks."""
    code = status.value if status is not None else ""
    shown = label(status, language) if status is not None else ""
    return Answer({"StatusCode": code, "StatusLabel": shown, "OpenTasks": open_tasks,
                   "Error": ""},
                  f"TaskBridge: status {code or 'none'}, {open_tasks} open tasks")


def answer_failed(code: str, why: str) -> Answer:
    """A call TaskBridge could not carry out: an error value, and why, in the log."""
    values: dict[str, Any] = {"Error": why[:255]}
    if code == CREATE_TASK:
        values["TaskId"] = 0
    return Answer(values, f"TaskBridge could not run this rule: {why}"[:1000], failed=True)


def _triple(value: object, name: str) -> tuple[str, str, str]:
    if isinstance(value, Mapping):
        value = [value.get(key) for key in sorted(value, key=str)]
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(part, str) and 0 < len(part) <= MAX_TEXT for part in value)):
        raise RobotCallError(name, "expected [module, document class, id]")
    return value[0], value[1], value[2]


def _text(body: Mapping[str, Any], key: str, name: str | None = None, *,
          limit: int = MAX_TEXT) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise RobotCallError(name or key, f"must be text of at most {limit} characters")
    return value


def _matching(body: Mapping[str, Any], key: str, pattern: re.Pattern[str], name: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RobotCallError(name, "missing or malformed")
    return value


def _property(props: Mapping[str, Any], name: str) -> str:
    value = props.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RobotCallError(name, "must be text")
    return value


def _optional_number(value: object, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_id(value, name, allow_zero=True)
    except InvalidIdError as exc:
        raise RobotCallError(name, "expected a number (1 to 18 ASCII digits)") from exc

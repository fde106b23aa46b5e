"""Typed portal events: what `/bitrix/events` and `/bitrix/install` receive.

`parse_event` turns the nested form (or JSON) into a `PortalEvent`, naming the object
it concerns (a task, a deal, a lead, or the app itself) so the worker can keep one
object's events in order. `redact` removes every secret before anything is stored.

Ids are read strictly, once, here (`mappers.ids.parse_id`): an id that is absent (no
key, ``""`` or the portal's ``"undefined"``) names no object, and one that is present
but not 1-18 ASCII digits refuses the event before it is journaled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from mappers.errors import InvalidIdError, ValidationError, excerpt
from mappers.ids import parse_id

ABSENT = "undefined"

TASK_EVENTS = frozenset({"ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE", "ONTASKCOMMENTADD"})
DEAL_EVENTS = frozenset(
    {"ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE", "ONCRMDEALMOVETOCATEGORY"}
)
LEAD_EVENTS = frozenset({"ONCRMLEADADD", "ONCRMLEADUPDATE", "ONCRMLEADDELETE"})
APP_EVENTS = frozenset({"ONAPPINSTALL", "ONAPPUPDATE", "ONAPPUNINSTALL"})
KNOWN_EVENTS = TASK_EVENTS | DEAL_EVENTS | LEAD_EVENTS | APP_EVENTS

# The events TaskBridge binds on install (ONAPPINSTALL is delivered without a binding).
BOUND_EVENTS = (
    "ONCRMDEALUPDATE",
    "ONCRMDEALADD",
    "ONCRMDEALDELETE",
    "ONCRMDEALMOVETOCATEGORY",
    "ONCRMLEADUPDATE",
    "ONCRMLEADDELETE",
    "ONTASKADD",
    "ONTASKUPDATE",
    "ONTASKDELETE",
    "ONTASKCOMMENTADD",
    "ONAPPUPDATE",
    "ONAPPUNINSTALL",
)
# Offline (catch-up) bindings: the object events; the app lifecycle comes online only.
OFFLINE_EVENTS = tuple(name for name in BOUND_EVENTS if not name.startswith("ONAPP"))

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "application_token",
        "client_secret",
        "auth_id",
        "refresh_id",
        "auth",
        "password",
    }
)
REDACTED = "[redacted]"


class EventError(ValidationError):
    """An event body lacks what every portal event has, or has it in the wrong shape."""


class EventAuth(BaseModel):
    """The `auth[...]` block: who sent the event. Tokens never appear in the repr."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    member_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    application_token: str = Field(default="", repr=False, max_length=256)
    domain: str = Field(default="", max_length=255)
    client_endpoint: str = Field(default="", max_length=512)
    server_endpoint: str = Field(default="", max_length=512)
    status: str = Field(default="", max_length=8)
    scope: str = Field(default="", max_length=512)
    user_id: int | None = None
    access_token: str = Field(default="", repr=False, max_length=512)
    refresh_token: str = Field(default="", repr=False, max_length=512)
    expires_in: int | None = None

    @field_validator("user_id", "expires_in", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if _absent(value):
            return None
        # Strict digits: int("²") and 25-digit numbers must not get through.
        try:
            return parse_id(value, "number", allow_zero=True)
        except InvalidIdError:
            raise ValueError(_not_a_number(value)) from None


class PortalEvent(BaseModel):
    """One event as the portal sent it, with the object it is about."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=64)
    handler_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    ts: int | None = None
    auth: EventAuth

    @property
    def known(self) -> bool:
        return self.name in KNOWN_EVENTS

    @property
    def object_type(self) -> str:
        if self.name in TASK_EVENTS:
            return "task"
        if self.name in DEAL_EVENTS:
            return "deal"
        if self.name in LEAD_EVENTS:
            return "lead"
        return "app" if self.name in APP_EVENTS else ""

    @property
    def object_id(self) -> str:
        """The id of the object the event is about, or "" when it names none."""
        for group, name in _ID_FIELDS.get(self.name, _ITEM_ID if self.object_type in
                                          ("deal", "lead") else ()):
            found = _field(self.data, group, name)
            if found:
                return found
        return ""

    @property
    def chat_message_id(self) -> str:
        """The chat message of a comment added in the new task card (tasks 25.700.0), where
        ``ONTASKCOMMENTADD`` carries ``ID: 0`` with ``MESSAGE_ID`` and ``TASK_ID``; "" for a
        comment of the classic card. Results are read with ``tasks.task.result.list`` in
        either card, so neither id is needed to find them."""
        if self.name != "ONTASKCOMMENTADD":
            return ""
        return _field(self.data, "FIELDS_AFTER", "MESSAGE_ID")

    @property
    def object_key(self) -> str:
        """Events with the same key are processed in arrival order."""
        return f"{self.object_type}:{self.object_id}" if self.object_id else self.object_type


_TASK_ID = (("FIELDS_AFTER", "ID"), ("FIELDS_BEFORE", "ID"))
_ITEM_ID = (("FIELDS", "ID"),)
_ID_FIELDS = {name: _TASK_ID for name in TASK_EVENTS} | {
    "ONTASKCOMMENTADD": (("FIELDS_AFTER", "TASK_ID"),)}


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == ABSENT


def _field(data: Mapping[str, Any], group: str, name: str) -> str:
    """`data[group][name]` as a canonical id; "" when absent; `InvalidIdError` when bad."""
    fields = data.get(group)
    if not isinstance(fields, Mapping):
        return ""
    value = fields.get(name)
    if _absent(value):
        return ""
    return str(parse_id(value, f"data.{group}.{name}"))


def _check_ids(event: PortalEvent) -> None:
    """Every id field the event's kind reads must be absent or valid, not only the first."""
    fields = _ID_FIELDS.get(event.name, _ITEM_ID if event.object_type in ("deal", "lead")
                            else ())
    for group, name in fields:
        _field(event.data, group, name)
    if event.name == "ONTASKCOMMENTADD":  # the new task card's chat message, when given
        _field(event.data, "FIELDS_AFTER", "MESSAGE_ID")


def parse_event(body: Mapping[str, Any]) -> PortalEvent:
    """Validate a nested event body; raises `EventError` naming the first problem."""
    auth = body.get("auth")
    if not isinstance(auth, Mapping):
        raise EventError("auth: missing; every portal event carries auth[member_id]")
    data = body.get("data", {})
    if data == ABSENT or data == "":
        data = {}
    try:
        sender = EventAuth.model_validate(auth)
    except PydanticValidationError as exc:
        raise _first_error(exc, "auth") from None
    try:
        event = PortalEvent(
            name=str(body.get("event", "")).upper(),
            handler_id=_optional_int(body.get("event_handler_id"), "event_handler_id"),
            data=data,
            ts=_optional_int(body.get("ts"), "ts"),
            auth=sender,
        )
    except PydanticValidationError as exc:
        raise _first_error(exc) from None
    try:
        _check_ids(event)
    except InvalidIdError as exc:
        raise EventError(str(exc)) from None
    return event


def _first_error(exc: PydanticValidationError, *where: str) -> EventError:
    first = exc.errors()[0]
    path = ".".join([*where, *(str(part) for part in first["loc"])]) or "event"
    return EventError(f"{path}: {first['msg'].removeprefix('Value error, ')}")


def _optional_int(value: Any, name: str) -> int | None:
    if _absent(value):
        return None
    try:
        return parse_id(value, name, allow_zero=True)
    except InvalidIdError:
        raise EventError(f"{name}: {_not_a_number(value)}") from None


def _not_a_number(value: Any) -> str:
    shown = excerpt(value) if isinstance(value, str) else type(value).__name__
    return f"expected a number (1 to 18 ASCII digits), got {shown}"


def redact(value: Any) -> Any:
    """A copy of a nested body with every secret replaced by a marker."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if str(key).lower() in SECRET_KEYS and not isinstance(item, Mapping)
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def dedupe_key(event: PortalEvent) -> str:
    """Equal for a re-delivery of the same event about the same object at the same moment.

    The acting user is part of it: two people changing one task within a second are two
    changes, and who made each one matters to the rules."""
    facts = [event.auth.member_id, event.name, event.object_key, event.ts, event.auth.user_id,
             event.data]
    blob = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()

"""Typed portal events: what `/bitrix/events` and `/bitrix/install` receive.

`parse_event` turns the nested form (or JSON) into a `PortalEvent`, naming the object
it concerns (a task, a deal, a lead, or the app itself) so the worker can keep one
object's events in order. `redact` removes every secret before anything is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from mappers.errors import ValidationError

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
        return None if value in ("", ABSENT) else value


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
        if self.name == "ONTASKCOMMENTADD":
            return _field(self.data, "FIELDS_AFTER", "TASK_ID")
        if self.name in TASK_EVENTS:
            return _field(self.data, "FIELDS_AFTER", "ID") or _field(
                self.data, "FIELDS_BEFORE", "ID"
            )
        if self.object_type in ("deal", "lead"):
            return _field(self.data, "FIELDS", "ID")
        return ""

    @property
    def object_key(self) -> str:
        """Events with the same key are processed in arrival order."""
        return f"{self.object_type}:{self.object_id}" if self.object_id else self.object_type


def _field(data: Mapping[str, Any], group: str, name: str) -> str:
    fields = data.get(group)
    if not isinstance(fields, Mapping):
        return ""
    value = fields.get(name)
    return value if isinstance(value, str) and value.isdigit() else ""


def parse_event(body: Mapping[str, Any]) -> PortalEvent:
    """Validate a nested event body; raises `EventError` naming the first problem."""
    auth = body.get("auth")
    if not isinstance(auth, Mapping):
        raise EventError("auth: missing; every portal event carries auth[member_id]")
    data = body.get("data", {})
    if data == ABSENT or data == "":
        data = {}
    try:
        return PortalEvent(
            name=str(body.get("event", "")).upper(),
            handler_id=_optional_int(body.get("event_handler_id")),
            data=data,
            ts=_optional_int(body.get("ts")),
            auth=EventAuth.model_validate(auth),
        )
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise EventError(f"{where}: {first['msg']}") from None


def _optional_int(value: Any) -> int | None:
    if value in (None, "", ABSENT):
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    raise EventError(f"expected a number, got {str(value)[:40]!r}")


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

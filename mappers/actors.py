"""Who made a change: the user an event names, and what the rules make of that user.

Events name their sender in ``auth[user_id]`` (or a bare ``user_id``); the fetched task
names its last editor in ``changedBy``, which is newer than the events that arrived
(spec §3's actor rule reads the result). TaskBridge's own writes come back as events sent
by the user it acts as: those are its own echoes, not news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mappers.bindings import CrmKind
from mappers.ids import parse_id

TASK_EDITED = "ONTASKUPDATE"
_ABSENT = (None, "", "undefined")


@dataclass(frozen=True, slots=True)
class EventActor:
    """One event of a task or item, as the rules see it: its name and the user it names."""

    event: str
    actor_id: int | None


def event_actor(payload: Mapping[str, Any]) -> int | None:
    """The user an event names (``auth[user_id]``, else ``user_id``); 0 and absent are None.

    Raises `InvalidIdError` for a user id that is present but not an id."""
    auth = payload.get("auth")
    user = auth.get("user_id") if isinstance(auth, Mapping) else None
    if user in _ABSENT:
        user = payload.get("user_id")
    if user in _ABSENT:
        return None
    return parse_id(user, "user_id", allow_zero=True) or None


def latest_actor(events: Sequence[EventActor]) -> int | None:
    """Who made the change: the user of the latest event that names one."""
    for event in reversed(events):
        if event.actor_id is not None:
            return event.actor_id
    return None


def task_actor(changed_by: int | None, events: Sequence[EventActor]) -> int | None:
    """The fetched task is newer than the events that arrived: its last editor wins."""
    return changed_by or latest_actor(events)


def actor_item_kind(
    held_by: Iterable[tuple[CrmKind, int]], actor_id: int | None
) -> CrmKind | None:
    """The kind of the first bound item (from ``bound_responsibles``) the actor is responsible
    for: why the actor rule held a change back, for the sync log."""
    return next((kind for kind, user in held_by if user == actor_id), None)


def own_echoes(events: Sequence[EventActor], *, expected: int, acting_user_id: int) -> bool:
    """The events are TaskBridge's own writes coming back: no more of them than it expects
    on the object, each sent by the user it acts as."""
    return 0 < len(events) <= expected and all(
        event.actor_id == acting_user_id for event in events)


def edited_by_someone_else(events: Sequence[EventActor], *, acting_user_id: int) -> bool:
    """The task was edited (``ONTASKUPDATE``) by someone other than TaskBridge itself (its
    own edits, the CRM tag, come back the same way and explain nothing)."""
    if not any(event.event == TASK_EDITED for event in events):
        return False
    return latest_actor(events) != acting_user_id

"""Reading a claimed journal row before a pass relies on it.

The receiver refuses events it cannot read, but the journal may hold rows from an older
version that did not (an id such as ``"²"`` or 25 digits), or rows made by hand. Such a
row cannot become valid by waiting: the worker ends it `dead` at once with the reason
`unreadable` gives, and the rest of its batch goes on without it.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.storage.journal_rows import Claimed
from mappers.actors import event_actor
from mappers.errors import InvalidIdError
from mappers.ids import parse_id

OBJECT_TYPES = frozenset({"task", "deal", "lead"})


def unreadable(row: Claimed) -> str | None:
    """Why a pass cannot use `row`, or None when it can."""
    if not isinstance(row.payload, Mapping):
        return f"the payload is a {type(row.payload).__name__}, not an object"
    try:
        if row.object_type in OBJECT_TYPES and row.object_id:
            parse_id(row.object_id, f"{row.object_type} id")
        event_actor(row.payload)
    except InvalidIdError as exc:
        return str(exc)
    return None


def object_number(row: Claimed) -> int | None:
    """The id of the task, deal or lead a row is about; None when it names none."""
    return parse_id(row.object_id, f"{row.object_type} id") if row.object_id else None


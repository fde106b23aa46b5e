"""Whether the events of a task show that its responsible has seen it (spec §2).

Opening a task fires no event, so TaskBridge reads the signs it gets: the responsible's
comment (``ONTASKCOMMENTADD``) and their opening of TaskBridge's tab in the task card
(``TASKBRIDGE_TASK_VIEWED``, from ``TASK_VIEW_TAB``). The same events sent by anyone else
say nothing about the responsible. (A status change or an edit by the responsible, and
the unviewed marker read with their own token, are read from the task itself, in
``changes.what_changed``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from mappers.actors import EventActor

VIEW_SIGNS = frozenset({"TASKBRIDGE_TASK_VIEWED", "ONTASKCOMMENTADD"})


def viewed_by_responsible(events: Iterable[EventActor], responsible_id: int | None) -> bool:
    """True when one of the events is a sign of viewing sent by the task's responsible."""
    return any(
        event.event in VIEW_SIGNS and event.actor_id == responsible_id for event in events
    )

"""The order the changes of one observation happened in, read from the portal's own dates.

One observation can hold several changes: events carry only IDs, and the worker fetches a
task once for all the events that waited together. Its changes are applied in the order
they happened, each against the status the one before produced, so the transition table
(spec §3) judges them as separate observations would have: an overdue task started after
its deadline stays ``EXPIRED``.

When each change happened:

- ``FIRST_SEEN`` comes first and ``VIEWED`` right after it. Neither has a date (opening
  a task fires nothing), and the responsible saw the task before acting on it.
- ``REAL_STATUS``: the task's ``statusChangedDate``. A renewal the observation implies
  (a completed task seen in progress) came just before it.
- ``DEADLINE``, ``FIELDS``: the task's ``changedDate``; the portal keeps no date per
  field. It stamps ``changedDate`` on every change, status changes too, so when that
  equals ``statusChangedDate`` the status change was the last act and the edits came
  before it; when it is later, the last edit came after it. ``RESULT_ADDED`` goes with
  the edits: a result is a comment, and a comment stamps no date on the task.
- ``OVERDUE``: when the task became overdue, the latest of its deadline, the moment the
  deadline was set to it (a deadline moved into the past has passed at once), and the
  moment the task last entered an open real status (1, 2, 3, 6) from one that is never
  overdue (4, 5, 7), as when a completed task is renewed.

Changes at the same moment keep the fixed order (``CHANGE_ORDER``). So does a whole
observation whose changes lack a date they need, and one whose ``changedDate`` is earlier
than its ``statusChangedDate`` (a portal never answers so: its dates cannot be trusted).
"""

from __future__ import annotations

from datetime import datetime

from mappers.change_kinds import CHANGE_ORDER, Change
from mappers.overdue import NOT_OVERDUE_REAL_STATUSES
from mappers.snapshots import TaskSnapshot

# Where a change sits at a date: just before the act stamped then, or at it.
BEFORE, AT = 0, 1
Moment = tuple[datetime, int]

# The kinds as module names: Python 3.11 reads ``ChangeKind.X`` through the enum
# metaclass's ``__getattr__`` hook, and this runs on most observations with several
# changes (bench/decide_bench.py).
_FIRST_SEEN, _VIEWED, _REAL_STATUS, _DEADLINE, _RESULT_ADDED, _FIELDS, _OVERDUE = CHANGE_ORDER


def edit_moment(current: TaskSnapshot, status_changed: bool) -> Moment | None:
    """When the edits of an observation happened; ``None`` when the dates cannot tell."""
    edited, status = current.changed_date, current.status_changed_date
    if edited is None:
        return None
    if not status_changed:
        return (edited, AT)
    if status is None or edited < status:
        return None
    return (edited, BEFORE if edited == status else AT)


def reopened(previous: TaskSnapshot | None, current: TaskSnapshot) -> bool:
    """The task left a real status that is never overdue for an open one."""
    return (
        previous is not None
        and previous.real_status in NOT_OVERDUE_REAL_STATUSES
        and current.real_status not in NOT_OVERDUE_REAL_STATUSES
    )


def happened_order(
    changes: list[Change], previous: TaskSnapshot | None, current: TaskSnapshot
) -> list[Change]:
    """``changes`` (``what_changed``'s, in the fixed order) in the order they happened."""
    edits_at: Moment | None = None
    deadline_set = renewed = None
    first = 0  # FIRST_SEEN and VIEWED (first in the fixed order) stay first
    # (date, before or at, position): the position in the fixed order breaks ties.
    keys: list[tuple[datetime, int, int]] = []
    last = len(changes) - 1
    for position, change in enumerate(changes):
        kind = change.kind
        if kind is _REAL_STATUS:
            status_at = current.status_changed_date
            if status_at is None:
                return changes
            # An implied renewal (followed by the status observed) came just before it.
            implied = position < last and changes[position + 1].kind is _REAL_STATUS
            key = (status_at, BEFORE if implied else AT, position)
            if renewed is None:
                renewed = key[:2]
        elif kind is _OVERDUE:
            moment = _overdue_moment(previous, current, deadline_set, renewed)
            if moment is None:
                return changes
            key = (moment[0], moment[1], position)
        elif kind is _FIRST_SEEN or kind is _VIEWED:
            first = position + 1
            continue
        else:
            if edits_at is None:  # edits follow the status changes in the fixed order
                edits_at = edit_moment(current, renewed is not None)
                if edits_at is None:
                    return changes
            if kind is _DEADLINE:
                deadline_set = edits_at
            key = (edits_at[0], edits_at[1], position)
        keys.append(key)
    if len(keys) == 2:  # most observations with several changes: two to order
        if keys[0] < keys[1]:
            return changes
        return [*changes[:first], changes[keys[1][2]], changes[keys[0][2]]]
    keys.sort()
    return [*changes[:first], *[changes[key[2]] for key in keys]]


def _overdue_moment(
    previous: TaskSnapshot | None,
    current: TaskSnapshot,
    deadline_set: Moment | None,
    renewed: Moment | None,
) -> Moment | None:
    """When the task became overdue: not before its deadline, the moment that deadline was
    set (``deadline_set``), nor its return to an open status (``renewed``)."""
    if current.deadline is None:
        return None
    moment = (current.deadline, AT)
    if deadline_set is not None and deadline_set > moment:
        moment = deadline_set
    if renewed is not None and renewed > moment and reopened(previous, current):
        moment = renewed
    return moment

"""What changed in a task between two snapshots, as a list of ``Change`` in the order the
changes happened (``change_order``: the portal's own dates; the fixed order below breaks
ties). Each is applied against the status the previous one produced.

1. ``FIRST_SEEN``   no previous snapshot (→ ``CREATED``, or ``VIEWED`` if self-assigned)
2. ``VIEWED``       a first sign the responsible has seen it
3. ``REAL_STATUS``  the real status changed (→ ``IN_PROGRESS``, ``WAITING``...)
4. ``DEADLINE``     the deadline changed (→ ``DEADLINE_CHANGED``)
5. ``RESULT_ADDED`` a result was added (→ ``RESULT_ADDED``)
6. ``FIELDS``       description, people, checklist, group or other fields (→ ``UPDATED``)
7. ``OVERDUE``      the task is open and past its deadline at ``now`` (→ ``EXPIRED``)

Signs the responsible has seen the task: the caller says so (``viewed_by_responsible``:
their action, a comment, their opening the task tab), the unviewed marker fetched with
their token cleared, or an edit/status change made by the responsible themselves.

A real status that changed and came back between two looks (started, then paused,
seen only as a later ``statusChangedDate``) is reported as ``REAL_STATUS`` too: the
task *became* that status again.

A closed or deferred task seen again in a status no single action leads to (completed,
then in progress) was renewed in between: a ``REAL_STATUS`` change to 2 is reported
before the observed one.

A delegation (the real status goes to 2 and the responsible changes with it; the old
responsible becomes an auditor) is that status change, not a field edit: its
responsible and auditor changes are left out of ``FIELDS``. Any other field edited in
the same observation still counts. A task delegated while already pending shows no
status change, so there the new responsible is an edit (``UPDATED``).

A task first seen is reported as ``FIRST_SEEN`` only, plus ``REAL_STATUS`` when it is
already in progress, awaiting review or completed (3, 4, 5: never the state of a task
just created), plus ``VIEWED`` and ``OVERDUE`` when their signs are there.

TaskBridge's own writes never count: the ``CRM`` tag is left out of the comparison,
and fields named in ``own_write_fields`` are not reported.
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter

from mappers.change_kinds import CHANGE_ORDER, Change, ChangeKind
from mappers.change_order import happened_order
from mappers.overdue import is_overdue
from mappers.snapshots import (
    COMPLETED,
    DECLINED,
    DEFERRED,
    IN_PROGRESS,
    PENDING,
    SUPPOSEDLY_COMPLETED,
    TASKBRIDGE_TAG,
    TaskSnapshot,
)

__all__ = ["CHANGE_ORDER", "UPDATE_FIELDS", "Change", "ChangeKind", "changed_fields",
           "unexplained_edit", "what_changed"]

# The members again, as module names: Python 3.11 reads ``ChangeKind.X`` through the enum
# metaclass's ``__getattr__`` hook, several times the cost of a module name, and these
# are read on every observation (bench/decide_bench.py).
_FIRST_SEEN, _VIEWED, _REAL_STATUS, _DEADLINE, _RESULT_ADDED, _FIELDS, _OVERDUE = CHANGE_ORDER

# Fields whose change makes a task UPDATED (spec §2, last row), compared in this order.
UPDATE_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "responsible_id",
    "accomplices",
    "auditors",
    "checklist_digest",
    "group_id",
    "tags",
    "crm_bindings",
    "task_control",
    "result_required",
)

_FIRST_SEEN_REAL_STATUSES = frozenset({IN_PROGRESS, SUPPOSEDLY_COMPLETED, COMPLETED})


# Changes are built with tuple.__new__ and every field given, skipping the NamedTuple's
# Python-level __new__: one frame fewer for each of the few made per observation.
_tuple_new = tuple.__new__


def _stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).isoformat()


def _tags_without_own(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(tag for tag in tags if tag != TASKBRIDGE_TAG)


# Read from the snapshot's field values (pydantic keeps them in ``__dict__``) in one go.
_update_values = itemgetter(*UPDATE_FIELDS)


def changed_fields(previous: TaskSnapshot, current: TaskSnapshot) -> tuple[str, ...]:
    """The ``UPDATE_FIELDS`` that differ, the ``CRM`` tag and unknown checklists aside."""
    before_all, after_all = _update_values(previous.__dict__), _update_values(current.__dict__)
    if before_all == after_all:  # most observations: read every field in one go
        return ()
    names = []
    for name, before, after in zip(UPDATE_FIELDS, before_all, after_all, strict=True):
        if before == after:
            continue
        if name == "tags" and _tags_without_own(before) == _tags_without_own(after):
            continue
        if name == "checklist_digest" and (before is None or after is None):
            continue
        names.append(name)
    return tuple(names)


def _status_change(
    previous: TaskSnapshot | None, current: TaskSnapshot, actor_id: int | None
) -> Change | None:
    after = current.real_status
    if previous is None:
        if after not in _FIRST_SEEN_REAL_STATUSES:
            return None
        before = None
    else:
        before = previous.real_status
        if before == after:
            # Unless it changed and came back between two looks (started, then paused).
            then, now = previous.status_changed_date, current.status_changed_date
            if then is None or now is None or then == now:
                return None
    when = current.status_changed_date or current.changed_date
    # The task says who changed its status: later than any event that arrived.
    actor = current.status_changed_by or actor_id
    identity = f"real_status:{before}>{after}@{_stamp(when)}"
    return _tuple_new(Change, (_REAL_STATUS, actor, identity, after, before, False, ()))


# Where one action can take a closed or deferred task; anything else went through
# "pending" (2) first: renewing, returning or renewing a deferred task all give 2.
_ONE_STEP_FROM = {SUPPOSEDLY_COMPLETED: {COMPLETED, PENDING}, COMPLETED: {PENDING},
                  DEFERRED: {PENDING, SUPPOSEDLY_COMPLETED, COMPLETED}, DECLINED: {PENDING}}


def _implied_pending(previous: TaskSnapshot | None, current: TaskSnapshot,
                     actor_id: int | None) -> Change | None:
    """A completed task seen in progress was renewed in between: report that step too,
    so the transition table sees FINISHED → WAITING → IN_PROGRESS as it happened."""
    if previous is None or previous.real_status not in _ONE_STEP_FROM:
        return None
    if current.real_status in _ONE_STEP_FROM[previous.real_status] | {previous.real_status}:
        return None
    when = _stamp(current.status_changed_date or current.changed_date)
    return Change(
        _REAL_STATUS,
        current.status_changed_by or actor_id,
        f"real_status:{previous.real_status}>{PENDING}(implied)@{when}",
        real_status=PENDING,
        previous_real_status=previous.real_status,
    )


_NO_FIELDS: frozenset[str] = frozenset()


def _delegation_fields(
    previous: TaskSnapshot, current: TaskSnapshot, status: Change
) -> frozenset[str]:
    """The fields a delegation changes by itself, when this status change is one.

    A delegation sends the task back to pending (2) with a new responsible; the old
    responsible is added to the auditors, and the new one leaves them if they were one.
    """
    if status.real_status != PENDING or previous.responsible_id == current.responsible_id:
        return _NO_FIELDS
    added = set(current.auditors) - set(previous.auditors)
    removed = set(previous.auditors) - set(current.auditors)
    if added <= {previous.responsible_id} and removed <= {current.responsible_id}:
        return frozenset({"responsible_id", "auditors"})
    return frozenset({"responsible_id"})


def _edits(
    previous: TaskSnapshot,
    current: TaskSnapshot,
    actor_id: int | None,
    own: frozenset[str],
    delegated: frozenset[str],
) -> list[Change]:
    edits = []
    if previous.deadline != current.deadline and "deadline" not in own:
        when = _stamp(current.changed_date)
        identity = f"deadline:{_stamp(previous.deadline)}>{_stamp(current.deadline)}@{when}"
        edits.append(_tuple_new(Change, (_DEADLINE, actor_id, identity, None, None, False, ())))
    before, after = previous.result_count, current.result_count
    if before is not None and after is not None and after > before:
        edits.append(Change(_RESULT_ADDED, actor_id, f"result:{after}"))
    fields = changed_fields(previous, current)
    if fields and (own or delegated):
        fields = tuple(name for name in fields if name not in own and name not in delegated)
    if fields:
        identity = f"fields:{','.join(fields)}@{_stamp(current.changed_date)}"
        edits.append(_tuple_new(Change, (_FIELDS, actor_id, identity, None, None, False, fields)))
    return edits


def _seen_by_responsible(
    previous: TaskSnapshot | None,
    current: TaskSnapshot,
    actor_id: int | None,
    told: bool,
    acted: bool,
) -> bool:
    marker_cleared = current.not_viewed_by_responsible is False and (
        previous is None or previous.not_viewed_by_responsible is not False
    )
    return told or marker_cleared or (acted and actor_id == current.responsible_id)


def what_changed(
    previous: TaskSnapshot | None,
    current: TaskSnapshot,
    *,
    actor_id: int | None,
    viewed_by_responsible: bool = False,
    own_write_fields: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> list[Change]:
    """The changes observed from ``previous`` (or none) to ``current``, in the order they
    happened (``change_order.happened_order``).

    ``actor_id`` is who made the change (the event's user, else ``changedBy``); ``now``
    enables the overdue check that runs on every event.
    """
    changes: list[Change] = []
    leading = 0  # FIRST_SEEN and VIEWED: first, whatever the dates
    status = (
        None if "real_status" in own_write_fields else _status_change(previous, current, actor_id)
    )
    if previous is None:
        self_assigned = current.created_by == current.responsible_id
        changes.append(
            Change(_FIRST_SEEN, actor_id, "first_seen", self_assigned=self_assigned)
        )
        leading = 1
        later = []
        acted = False
    else:
        delegated = _NO_FIELDS if status is None else _delegation_fields(previous, current, status)
        later = _edits(previous, current, actor_id, own_write_fields, delegated)
        acted = status is not None or bool(later)
    if _seen_by_responsible(previous, current, actor_id, viewed_by_responsible, acted):
        viewed = (_VIEWED, current.responsible_id, "viewed", None, None, False, ())
        changes.append(_tuple_new(Change, viewed))
        leading += 1
    if status is not None:
        implied = _implied_pending(previous, current, actor_id)
        if implied is not None:
            changes.append(implied)
        changes.append(status)
    changes.extend(later)
    if now is not None and is_overdue(current, now):
        # The status date makes a second overdue spell (after a renewal) a new change.
        identity = f"overdue:{_stamp(current.deadline)}@{_stamp(current.status_changed_date)}"
        changes.append(_tuple_new(Change, (_OVERDUE, None, identity, None, None, False, ())))
    if len(changes) - leading > 1:  # most observations hold one change, or none
        return happened_order(changes, previous, current)
    return changes


def unexplained_edit(previous: TaskSnapshot, current: TaskSnapshot) -> bool:
    """The portal reported an edit, but nothing compared explains it.

    Then something not fetched yet changed, such as its checklist; fetching that costs a
    command per task, so it is fetched only when needed.
    """
    return (
        previous.real_status == current.real_status
        and previous.status_changed_date == current.status_changed_date
        and previous.deadline == current.deadline
        and previous.result_count == current.result_count
        and not changed_fields(previous, current)
    )

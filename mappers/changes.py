"""What changed in a task between two snapshots, as an ordered list of ``Change``.

The fixed order (spec §2: several changes of one observation are applied in a fixed
order, each against the status the previous one produced):

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

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

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


class ChangeKind(StrEnum):
    """Kinds of observed change, declared in the order they are applied."""

    FIRST_SEEN = "first_seen"
    VIEWED = "viewed"
    REAL_STATUS = "real_status"
    DEADLINE = "deadline"
    RESULT_ADDED = "result_added"
    FIELDS = "fields"
    OVERDUE = "overdue"


CHANGE_ORDER: tuple[ChangeKind, ...] = tuple(ChangeKind)

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


@dataclass(frozen=True, slots=True)
class Change:
    """One observed change of a task.

    ``identity`` names this change stably (same observation, same identity) and is what
    idempotency keys are made of. ``real_status`` is the new real status
    (``REAL_STATUS``), ``self_assigned`` tells whether creator == responsible
    (``FIRST_SEEN``), ``fields`` lists what changed (``FIELDS``).
    """

    kind: ChangeKind
    actor_id: int | None
    identity: str
    real_status: int | None = None
    previous_real_status: int | None = None
    self_assigned: bool = False
    fields: tuple[str, ...] = ()


def _stamp(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).isoformat()


def _tags_without_own(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(tag for tag in tags if tag != TASKBRIDGE_TAG)


def changed_fields(previous: TaskSnapshot, current: TaskSnapshot) -> tuple[str, ...]:
    """The ``UPDATE_FIELDS`` that differ, the ``CRM`` tag and unknown checklists aside."""
    names = []
    for name in UPDATE_FIELDS:
        before, after = getattr(previous, name), getattr(current, name)
        if name == "tags":
            before, after = _tags_without_own(before), _tags_without_own(after)
        elif name == "checklist_digest" and (before is None or after is None):
            continue
        if before != after:
            names.append(name)
    return tuple(names)


def _status_change(
    previous: TaskSnapshot | None, current: TaskSnapshot, actor_id: int | None
) -> Change | None:
    before = None if previous is None else previous.real_status
    if before == current.real_status and not _round_trip(previous, current):
        return None
    if previous is None and current.real_status not in _FIRST_SEEN_REAL_STATUSES:
        return None
    when = current.status_changed_date or current.changed_date
    return Change(
        ChangeKind.REAL_STATUS,
        # The task says who changed its status: later than any event that arrived.
        current.status_changed_by or actor_id,
        f"real_status:{before}>{current.real_status}@{_stamp(when)}",
        real_status=current.real_status,
        previous_real_status=before,
    )


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
        ChangeKind.REAL_STATUS,
        current.status_changed_by or actor_id,
        f"real_status:{previous.real_status}>{PENDING}(implied)@{when}",
        real_status=PENDING,
        previous_real_status=previous.real_status,
    )


def _round_trip(previous: TaskSnapshot | None, current: TaskSnapshot) -> bool:
    """The status changed and came back between two looks (started, then paused)."""
    return (
        previous is not None
        and previous.status_changed_date is not None
        and current.status_changed_date is not None
        and current.status_changed_date != previous.status_changed_date
    )


def _delegation_fields(
    previous: TaskSnapshot, current: TaskSnapshot, status: Change | None
) -> frozenset[str]:
    """The fields a delegation changes by itself, when this observation shows one.

    A delegation sends the task back to pending (2) with a new responsible; the old
    responsible is added to the auditors, and the new one leaves them if they were one.
    """
    if (
        status is None
        or status.real_status != PENDING
        or previous.responsible_id == current.responsible_id
    ):
        return frozenset()
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
    when = _stamp(current.changed_date)
    if previous.deadline != current.deadline and "deadline" not in own:
        identity = f"deadline:{_stamp(previous.deadline)}>{_stamp(current.deadline)}@{when}"
        edits.append(Change(ChangeKind.DEADLINE, actor_id, identity))
    before, after = previous.result_count, current.result_count
    if before is not None and after is not None and after > before:
        edits.append(Change(ChangeKind.RESULT_ADDED, actor_id, f"result:{after}"))
    fields = tuple(
        name
        for name in changed_fields(previous, current)
        if name not in own and name not in delegated
    )
    if fields:
        identity = f"fields:{','.join(fields)}@{when}"
        edits.append(Change(ChangeKind.FIELDS, actor_id, identity, fields=fields))
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
    """The changes observed from ``previous`` (or none) to ``current``, in ``CHANGE_ORDER``.

    ``actor_id`` is who made the change (the event's user, else ``changedBy``); ``now``
    enables the overdue check that runs on every event.
    """
    changes: list[Change] = []
    if previous is None:
        self_assigned = current.created_by == current.responsible_id
        changes.append(
            Change(ChangeKind.FIRST_SEEN, actor_id, "first_seen", self_assigned=self_assigned)
        )
    status = (
        None if "real_status" in own_write_fields else (_status_change(previous, current, actor_id))
    )
    later = (
        []
        if previous is None
        else _edits(
            previous,
            current,
            actor_id,
            own_write_fields,
            _delegation_fields(previous, current, status),
        )
    )
    acted = previous is not None and (status is not None or bool(later))
    if _seen_by_responsible(previous, current, actor_id, viewed_by_responsible, acted):
        changes.append(Change(ChangeKind.VIEWED, current.responsible_id, "viewed"))
    if status is not None:
        implied = _implied_pending(previous, current, actor_id)
        if implied is not None:
            changes.append(implied)
        changes.append(status)
    changes.extend(later)
    if now is not None and is_overdue(current, now):
        # The status date makes a second overdue spell (after a renewal) a new change.
        identity = f"overdue:{_stamp(current.deadline)}@{_stamp(current.status_changed_date)}"
        changes.append(Change(ChangeKind.OVERDUE, None, identity))
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

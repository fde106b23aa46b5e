"""Whether an observed change moves a task's CRM status, and to what (spec §2, §3).

``decide`` finds the status a change asks for (§2), then applies the two rules of §3
in this order: the actor rule, then the transition rule (a status never changes to
itself; otherwise the table in ``statuses.TRANSITIONS``). A task with no status yet
may take any status. ``FIRST_SEEN`` sets the initial status and is exempt from the
actor rule: a deal manager creating a task for themselves still gets ``VIEWED``.

``decide_observation`` applies the changes of one observation in the order given (the
order they happened: ``change_order``), each against the status the previous one produced.

A completed task leaves ``FINISHED`` only when renewed or returned (§3), and the table
lets it go to ``WAITING`` alone. So real status 2 seen from ``FINISHED`` asks for
``WAITING`` (``Rule.REOPENED``) even when the deadline has passed; the overdue check of
the same observation (``OVERDUE``, reported when ``what_changed`` is given ``now``) then
takes it on to ``EXPIRED``, which ``WAITING`` allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from mappers.changes import Change, ChangeKind
from mappers.snapshots import COMPLETED, IN_PROGRESS, PENDING, SUPPOSEDLY_COMPLETED
from mappers.statuses import ACTOR_RULE_STATUSES, TRANSITIONS, CrmTaskStatus

S = CrmTaskStatus


class Rule(StrEnum):
    """The row of spec §2 (or §5) that produced the desired status."""

    FIRST_SEEN_SELF_ASSIGNED = "task first seen, creator == responsible"
    FIRST_SEEN = "task first seen"
    VIEWED = "the responsible viewed it"
    STARTED = "real status became 3 (in progress)"
    PENDING = "real status became 2 (pending)"
    PENDING_OVERDUE = "real status became 2 (pending) and the deadline has passed"
    REOPENED = "a completed task was renewed or returned (real status 2)"
    SUPPOSEDLY_COMPLETED = "real status became 4 (waiting for the creator)"
    COMPLETED = "real status became 5 (completed)"
    OTHER_REAL_STATUS = "real status became 6 (deferred) or another"
    DEADLINE_CHANGED = "deadline changed"
    RESULT_ADDED = "a result was added"
    OVERDUE = "deadline passed while not completed"
    FIELDS_CHANGED = "description, people, checklist, group or other fields changed"
    CLOSED_WITH_ITEM = "closed automatically with its CRM item"


class Outcome(StrEnum):
    """Why a desired status was or was not applied."""

    APPLIED = "applied"
    NO_STATUS = "this change sets no status"
    ACTOR_RULE = "made by the responsible of a bound CRM item"
    SAME_STATUS = "already in this status"
    NOT_ALLOWED = "the transition table forbids it"


# A NamedTuple: an immutable value like a frozen dataclass, built several times faster
# (one is made per decided change; bench/decide_bench.py).
class Decision(NamedTuple):
    """The verdict on one change: the new status (or ``None``) and why."""

    status: CrmTaskStatus | None
    outcome: Outcome
    rule: Rule
    previous: CrmTaskStatus | None
    desired: CrmTaskStatus | None
    change_id: str

    @property
    def applied(self) -> bool:
        return self.outcome is _APPLIED

    @property
    def transition(self) -> tuple[CrmTaskStatus | None, CrmTaskStatus | None]:
        """(from, to) as asked; ``to`` is ``None`` when the change sets no status."""
        return (self.previous, self.desired)


_BY_KIND: dict[ChangeKind, tuple[CrmTaskStatus, Rule]] = {
    ChangeKind.VIEWED: (S.VIEWED, Rule.VIEWED),
    ChangeKind.DEADLINE: (S.DEADLINE_CHANGED, Rule.DEADLINE_CHANGED),
    ChangeKind.RESULT_ADDED: (S.RESULT_ADDED, Rule.RESULT_ADDED),
    ChangeKind.FIELDS: (S.UPDATED, Rule.FIELDS_CHANGED),
    ChangeKind.OVERDUE: (S.EXPIRED, Rule.OVERDUE),
}
_BY_REAL_STATUS: dict[int, tuple[CrmTaskStatus, Rule]] = {
    IN_PROGRESS: (S.IN_PROGRESS, Rule.STARTED),
    SUPPOSEDLY_COMPLETED: (S.CONTROL_WAITING, Rule.SUPPOSEDLY_COMPLETED),
    COMPLETED: (S.FINISHED, Rule.COMPLETED),
}


# Rows of §2 and outcomes as module names: Python 3.11 reads an enum member through the
# enum metaclass's ``__getattr__`` hook, several times the cost of a module name, and
# these are read for every change decided (bench/decide_bench.py).
_tuple_new = tuple.__new__
_FIRST_SEEN = ChangeKind.FIRST_SEEN
_SELF_ASSIGNED_ROW = (S.VIEWED, Rule.FIRST_SEEN_SELF_ASSIGNED)
_FIRST_SEEN_ROW = (S.CREATED, Rule.FIRST_SEEN)
_PENDING_OVERDUE_ROW = (S.EXPIRED, Rule.PENDING_OVERDUE)
_PENDING_ROW = (S.WAITING, Rule.PENDING)
_OTHER_REAL_STATUS_ROW = (None, Rule.OTHER_REAL_STATUS)
_REOPENED_ROW = (S.WAITING, Rule.REOPENED)
_FINISHED = S.FINISHED
_APPLIED, _NO_STATUS, _ACTOR_RULE, _SAME_STATUS, _NOT_ALLOWED = (
    Outcome.APPLIED, Outcome.NO_STATUS, Outcome.ACTOR_RULE, Outcome.SAME_STATUS,
    Outcome.NOT_ALLOWED,
)  # fmt: skip


def desired_status(
    change: Change, deadline: datetime | None, now: datetime
) -> tuple[CrmTaskStatus | None, Rule]:
    """The status spec §2 asks for on this change, and the row that says so."""
    kind = change.kind
    found = _BY_KIND.get(kind)
    if found is not None:
        return found
    if kind is _FIRST_SEEN:
        return _SELF_ASSIGNED_ROW if change.self_assigned else _FIRST_SEEN_ROW
    # ChangeKind.REAL_STATUS
    if change.real_status == PENDING:
        if deadline is not None and now > deadline:
            return _PENDING_OVERDUE_ROW
        return _PENDING_ROW
    return _BY_REAL_STATUS.get(change.real_status, _OTHER_REAL_STATUS_ROW)  # type: ignore[arg-type]


def _verdict(
    current: CrmTaskStatus | None,
    desired: CrmTaskStatus | None,
    actor_ruled: bool,
) -> Outcome:
    if desired is None:
        return _NO_STATUS
    if actor_ruled and desired in ACTOR_RULE_STATUSES:
        return _ACTOR_RULE
    if desired is current:
        return _SAME_STATUS
    if current is not None and desired not in TRANSITIONS[current]:
        return _NOT_ALLOWED
    return _APPLIED


def decide(
    current: CrmTaskStatus | None,
    change: Change,
    *,
    item_responsibles: frozenset[int],
    deadline: datetime | None,
    now: datetime,
    actor_id: int | None = None,
) -> Decision:
    """Decide one change against the current CRM status.

    ``item_responsibles`` are the ``ASSIGNED_BY_ID`` of every CRM item the task is bound
    to; ``deadline`` is the task's current deadline. The actor is ``change.actor_id``
    unless ``actor_id`` is given.
    """
    actor = change.actor_id if actor_id is None else actor_id
    return _decide(current, change, item_responsibles, deadline, now, actor)


_REOPENING_RULES = frozenset({Rule.PENDING, Rule.PENDING_OVERDUE})


def _decide(
    current: CrmTaskStatus | None,
    change: Change,
    item_responsibles: frozenset[int],
    deadline: datetime | None,
    now: datetime,
    actor: int | None,
) -> Decision:
    found = _BY_KIND.get(change.kind)  # most changes: one row of §2, whatever the task
    desired, rule = found if found is not None else desired_status(change, deadline, now)
    if current is _FINISHED and rule in _REOPENING_RULES:
        desired, rule = _REOPENED_ROW
    actor_ruled = (
        actor is not None and actor in item_responsibles and change.kind is not _FIRST_SEEN
    )
    outcome = _verdict(current, desired, actor_ruled)
    new = desired if outcome is _APPLIED else None
    # tuple.__new__ skips the NamedTuple's Python-level __new__: one less frame per change.
    return _tuple_new(Decision, (new, outcome, rule, current, desired, change.identity))


def decide_observation(
    current: CrmTaskStatus | None,
    changes: Iterable[Change],
    *,
    item_responsibles: frozenset[int],
    deadline: datetime | None,
    now: datetime,
) -> list[Decision]:
    """Decide each change in order, each against the status the previous one produced."""
    decisions = []
    for change in changes:
        decision = _decide(current, change, item_responsibles, deadline, now, change.actor_id)
        if decision.status is not None:
            current = decision.status
        decisions.append(decision)
    return decisions


def final_status(
    current: CrmTaskStatus | None, decisions: Iterable[Decision]
) -> CrmTaskStatus | None:
    """The status after the applied decisions."""
    for decision in decisions:
        if decision.status is not None:
            current = decision.status
    return current


def decide_closing(
    current: CrmTaskStatus | None, status: CrmTaskStatus, *, change_id: str
) -> Decision:
    """The status a task takes when its CRM item closes (§5): no actor rule, same table."""
    outcome = _verdict(current, status, actor_ruled=False)
    new = status if outcome is Outcome.APPLIED else None
    return Decision(new, outcome, Rule.CLOSED_WITH_ITEM, current, status, change_id)

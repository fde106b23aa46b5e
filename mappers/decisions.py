"""Whether an observed change moves a task's CRM status, and to what (spec §2, §3).

``decide`` finds the status a change asks for (§2), then applies the two rules of §3
in this order: the actor rule, then the transition rule (a status never changes to
itself; otherwise the table in ``statuses.TRANSITIONS``). A task with no status yet
may take any status. ``FIRST_SEEN`` sets the initial status and is exempt from the
actor rule: a deal manager creating a task for themselves still gets ``VIEWED``.

``decide_observation`` applies the changes of one observation in their fixed order
(see ``changes``), each against the status the previous one produced.

A completed task leaves ``FINISHED`` only when renewed or returned (§3), and the table
lets it go to ``WAITING`` alone. So real status 2 seen from ``FINISHED`` asks for
``WAITING`` (``Rule.REOPENED``) even when the deadline has passed; the overdue check of
the same observation (``OVERDUE``, reported when ``what_changed`` is given ``now``) then
takes it on to ``EXPIRED``, which ``WAITING`` allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one change: the new status (or ``None``) and why."""

    status: CrmTaskStatus | None
    outcome: Outcome
    rule: Rule
    previous: CrmTaskStatus | None
    desired: CrmTaskStatus | None
    change_id: str

    @property
    def applied(self) -> bool:
        return self.outcome is Outcome.APPLIED

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


def desired_status(
    change: Change, deadline: datetime | None, now: datetime
) -> tuple[CrmTaskStatus | None, Rule]:
    """The status spec §2 asks for on this change, and the row that says so."""
    kind = change.kind
    found = _BY_KIND.get(kind)
    if found is not None:
        return found
    if kind is ChangeKind.FIRST_SEEN:
        if change.self_assigned:
            return S.VIEWED, Rule.FIRST_SEEN_SELF_ASSIGNED
        return S.CREATED, Rule.FIRST_SEEN
    # ChangeKind.REAL_STATUS
    if change.real_status == PENDING:
        if deadline is not None and now > deadline:
            return S.EXPIRED, Rule.PENDING_OVERDUE
        return S.WAITING, Rule.PENDING
    return _BY_REAL_STATUS.get(change.real_status, (None, Rule.OTHER_REAL_STATUS))  # type: ignore[arg-type]


def _verdict(
    current: CrmTaskStatus | None,
    desired: CrmTaskStatus | None,
    actor_ruled: bool,
) -> Outcome:
    if desired is None:
        return Outcome.NO_STATUS
    if actor_ruled and desired in ACTOR_RULE_STATUSES:
        return Outcome.ACTOR_RULE
    if desired is current:
        return Outcome.SAME_STATUS
    if current is not None and desired not in TRANSITIONS[current]:
        return Outcome.NOT_ALLOWED
    return Outcome.APPLIED


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
    desired, rule = desired_status(change, deadline, now)
    if current is S.FINISHED and rule in (Rule.PENDING, Rule.PENDING_OVERDUE):
        desired, rule = S.WAITING, Rule.REOPENED
    actor = change.actor_id if actor_id is None else actor_id
    actor_ruled = (
        change.kind is not ChangeKind.FIRST_SEEN
        and actor is not None
        and actor in item_responsibles
    )
    outcome = _verdict(current, desired, actor_ruled)
    new = desired if outcome is Outcome.APPLIED else None
    return Decision(new, outcome, rule, current, desired, change.identity)


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
        decision = decide(
            current, change, item_responsibles=item_responsibles, deadline=deadline, now=now
        )
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

"""Spec §2 and §3: the changes of one observation are applied in the order they happened,
read from the portal's own dates (the deadline, statusChangedDate, changedDate); the fixed
order breaks ties. Each row: a task as last stored and as fetched now, its CRM status
before, and the statuses applied, in order."""

from datetime import UTC, datetime, timedelta

import pytest

from mappers.bindings import CrmRef
from mappers.change_kinds import Change, ChangeKind
from mappers.change_order import happened_order
from mappers.changes import what_changed
from mappers.decisions import Outcome, decide_observation, final_status
from mappers.snapshots import TaskSnapshot
from mappers.statuses import CrmTaskStatus

S = CrmTaskStatus
K = ChangeKind
CREATOR, RESPONSIBLE, AUDITOR, MANAGER = 1, 2, 3, 10
DEADLINE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # T0: when the deadline passes
EARLIER = DEADLINE - timedelta(minutes=10)
LATER = DEADLINE + timedelta(minutes=10)
NOW = DEADLINE + timedelta(hours=1)  # TaskBridge looks: every deadline above has passed
STORED = DEADLINE - timedelta(hours=2)  # when the stored snapshot last changed


def task(**fields) -> TaskSnapshot:
    base = {"id": 42, "title": "Prepare the contract", "real_status": 2, "created_by": CREATOR,
            "responsible_id": RESPONSIBLE, "crm_bindings": (CrmRef(2, 12),), "tags": ("CRM",),
            "deadline": DEADLINE, "changed_date": STORED, "status_changed_date": STORED,
            "result_count": 0}  # fmt: skip
    return TaskSnapshot(**{**base, **fields})


def acted(at: datetime, **fields) -> TaskSnapshot:
    """The task after one act at `at`: the portal stamps changedDate on every change, and
    statusChangedDate too when the real status changed."""
    if "real_status" in fields:
        fields.setdefault("status_changed_date", at)
    return task(changed_date=at, **fields)


def started_and_moved(started: datetime, moved: datetime) -> TaskSnapshot:
    """Started at `started`, its deadline moved to the day after at `moved`."""
    return task(real_status=3, status_changed_date=started, changed_date=max(started, moved),
                deadline=DEADLINE + timedelta(days=1))  # fmt: skip


def applied(status: S | None, previous: TaskSnapshot | None, current: TaskSnapshot,
            actor: int) -> tuple[list[S | None], S | None]:  # fmt: skip
    """The statuses the observation applies, in order, and the status it ends in."""
    changes = what_changed(previous, current, actor_id=actor, now=NOW)
    decisions = decide_observation(status, changes, item_responsibles=frozenset({MANAGER}),
                                   deadline=current.deadline, now=NOW)  # fmt: skip
    return [d.status for d in decisions if d.applied], final_status(status, decisions)


PENDING_TASK = task()
COMPLETED_TASK = task(real_status=5)

# name | CRM status before | stored snapshot | fetched now | actor | applied, in order
TABLE = [
    ("an overdue task started after its deadline stays EXPIRED (EXPIRED -> IN_PROGRESS is "
     "refused)", S.DEADLINE_CHANGED, PENDING_TASK, acted(LATER, real_status=3), RESPONSIBLE,
     [S.EXPIRED]),
    ("the same from WAITING", S.WAITING, PENDING_TASK, acted(LATER, real_status=3), CREATOR,
     [S.EXPIRED]),
    ("started before its deadline, which then passed: IN_PROGRESS, then EXPIRED",
     S.DEADLINE_CHANGED, PENDING_TASK, acted(EARLIER, real_status=3), CREATOR,
     [S.IN_PROGRESS, S.EXPIRED]),
    ("started the second its deadline passed: a tie, the fixed order (the start first)",
     S.WAITING, PENDING_TASK, acted(DEADLINE, real_status=3), CREATOR,
     [S.IN_PROGRESS, S.EXPIRED]),
    ("deadline moved, then started (changedDate == statusChangedDate): DEADLINE_CHANGED, "
     "then IN_PROGRESS", S.VIEWED, PENDING_TASK, started_and_moved(LATER, EARLIER), CREATOR,
     [S.DEADLINE_CHANGED, S.IN_PROGRESS]),
    ("started, then deadline moved (changedDate later): IN_PROGRESS, then DEADLINE_CHANGED",
     S.VIEWED, PENDING_TASK, started_and_moved(EARLIER, LATER), CREATOR,
     [S.IN_PROGRESS, S.DEADLINE_CHANGED]),
    ("deadline moved into the past: overdue from the move, not from the date it names",
     S.IN_PROGRESS, task(deadline=NOW + timedelta(days=1)), acted(LATER, deadline=EARLIER),
     CREATOR, [S.DEADLINE_CHANGED, S.EXPIRED]),
    ("deadline moved into the past, then started: the start is refused", S.VIEWED,
     task(deadline=NOW + timedelta(days=1)), acted(LATER, deadline=EARLIER, real_status=3),
     CREATOR, [S.DEADLINE_CHANGED, S.EXPIRED]),
    ("renewed after completion past its deadline: FINISHED -> WAITING -> EXPIRED",
     S.FINISHED, COMPLETED_TASK, acted(LATER, real_status=2), CREATOR,
     [S.WAITING, S.EXPIRED]),
    ("renewed after completion before its deadline, which then passed", S.FINISHED,
     COMPLETED_TASK, acted(EARLIER, real_status=2), CREATOR, [S.WAITING, S.EXPIRED]),
    ("renewed and started past its deadline: overdue from the renewal, the start refused",
     S.FINISHED, COMPLETED_TASK, acted(LATER, real_status=3), CREATOR,
     [S.WAITING, S.EXPIRED]),
    ("renewed and started before its deadline, which then passed", S.FINISHED,
     COMPLETED_TASK, acted(EARLIER, real_status=3), CREATOR,
     [S.WAITING, S.IN_PROGRESS, S.EXPIRED]),
    ("returned from review past its deadline: EXPIRED (§2, real status 2)",
     S.CONTROL_WAITING, task(real_status=4), acted(LATER, real_status=2), CREATOR,
     [S.EXPIRED]),
    ("first seen already in progress, started after its deadline: CREATED comes first",
     None, None, acted(LATER, real_status=3), CREATOR, [S.CREATED, S.EXPIRED]),
    ("first seen already in progress before its deadline", None, None,
     acted(EARLIER, real_status=3), CREATOR, [S.CREATED, S.IN_PROGRESS, S.EXPIRED]),
    ("a deadline moved and a result added by one date keep the fixed order",
     S.VIEWED, PENDING_TASK, acted(EARLIER, deadline=NOW + timedelta(days=1), result_count=1),
     AUDITOR, [S.DEADLINE_CHANGED, S.RESULT_ADDED]),
    ("no statusChangedDate: the fixed order", S.WAITING, PENDING_TASK,
     task(real_status=3, status_changed_date=None, changed_date=LATER), CREATOR,
     [S.IN_PROGRESS, S.EXPIRED]),
    ("no changedDate: the fixed order", S.IN_PROGRESS, task(deadline=NOW + timedelta(days=1)),
     task(deadline=EARLIER, changed_date=None), CREATOR, [S.DEADLINE_CHANGED, S.EXPIRED]),
    ("changedDate before statusChangedDate (never so on a portal): the fixed order",
     S.VIEWED, PENDING_TASK, started_and_moved(LATER, EARLIER).model_copy(
         update={"changed_date": EARLIER}), CREATOR, [S.IN_PROGRESS, S.DEADLINE_CHANGED]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "status", "previous", "current", "actor", "expected"), TABLE,
                         ids=[row[0] for row in TABLE])  # fmt: skip
def test_changes_apply_in_the_order_they_happened(name, status, previous, current, actor,
                                                  expected):  # fmt: skip
    statuses, final = applied(status, previous, current, actor)
    assert statuses == expected
    assert final is expected[-1]


def test_an_overdue_task_started_late_has_one_applied_decision_and_the_start_is_refused():
    changes = what_changed(PENDING_TASK, acted(LATER, real_status=3), actor_id=RESPONSIBLE,
                           now=NOW)  # fmt: skip
    assert [c.kind for c in changes] == [K.VIEWED, K.OVERDUE, K.REAL_STATUS]
    decisions = decide_observation(S.DEADLINE_CHANGED, changes, deadline=DEADLINE, now=NOW,
                                   item_responsibles=frozenset({MANAGER}))  # fmt: skip
    assert [(d.desired, d.outcome) for d in decisions] == [
        (S.VIEWED, Outcome.NOT_ALLOWED),
        (S.EXPIRED, Outcome.APPLIED),
        (S.IN_PROGRESS, Outcome.NOT_ALLOWED),
    ]


def test_first_seen_and_viewed_come_first_whatever_the_dates():
    current = acted(LATER, real_status=3, not_viewed_by_responsible=False)
    kinds = [c.kind for c in what_changed(None, current, actor_id=CREATOR, now=NOW)]
    assert kinds == [K.FIRST_SEEN, K.VIEWED, K.OVERDUE, K.REAL_STATUS]


def test_the_order_changes_no_identity():
    current = acted(LATER, real_status=3)
    changes = what_changed(PENDING_TASK, current, actor_id=CREATOR, now=NOW)
    assert sorted(c.identity for c in changes) == [
        "overdue:2026-11-26T12:00:00+00:00@2026-11-26T12:10:00+00:00",
        "real_status:2>3@2026-11-26T12:10:00+00:00",
    ]


def test_an_overdue_change_of_a_task_without_a_deadline_cannot_be_dated():
    # what_changed never reports one; the rule keeps the fixed order if handed one.
    changes = [Change(K.REAL_STATUS, CREATOR, "real_status:2>3", real_status=3),
               Change(K.OVERDUE, None, "overdue")]  # fmt: skip
    current = acted(LATER, real_status=3, deadline=None)
    assert happened_order(changes, PENDING_TASK, current) == changes

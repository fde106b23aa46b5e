"""A task found already under way takes the status its first sight gives (spec §2, §3), dated
by the portal's own clock so its items show the task changed most recently there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mappers.decisions import Outcome, Rule
from mappers.item_status import TaskStatusRecord, item_status
from mappers.snapshots import TaskSnapshot
from mappers.starting_status import StartingStatus, starting_status
from mappers.statuses import CrmTaskStatus

S = CrmTaskStatus
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
CREATOR, RESPONSIBLE, DEAL_MANAGER = 1, 2, 3
PASSED, AHEAD = NOW - timedelta(days=1), NOW + timedelta(days=1)
CHANGED, STATUS_CHANGED = NOW - timedelta(days=3), NOW - timedelta(days=2)


def task(real_status: int = 2, *, deadline: datetime | None = None, created_by: int = CREATOR,
         started_by: int = RESPONSIBLE, **dates: datetime | None) -> TaskSnapshot:
    values = {"changed_date": CHANGED, "status_changed_date": STATUS_CHANGED, **dates}
    return TaskSnapshot(id=7, real_status=real_status, created_by=created_by,
                        responsible_id=RESPONSIBLE, changed_by=created_by,
                        status_changed_by=started_by, deadline=deadline, **values)


# the task as found | the status it starts with
STATUSES = [
    ("new (1), not viewed", task(1), S.CREATED),
    ("pending (2), not viewed", task(2), S.CREATED),
    ("pending, created by its responsible", task(2, created_by=RESPONSIBLE), S.VIEWED),
    ("in progress (3)", task(3), S.IN_PROGRESS),
    ("waiting for the creator (4)", task(4), S.CONTROL_WAITING),
    ("deferred (6)", task(6), S.CREATED),
    ("pending past its deadline", task(2, deadline=PASSED), S.EXPIRED),
    ("in progress past its deadline", task(3, deadline=PASSED), S.EXPIRED),
    ("deferred past its deadline", task(6, deadline=PASSED), S.EXPIRED),
    ("waiting for the creator past its deadline: not overdue",
     task(4, deadline=PASSED), S.CONTROL_WAITING),
    ("in progress, deadline ahead", task(3, deadline=AHEAD), S.IN_PROGRESS),
    ("finished by the deal's own manager: the actor rule holds it back",
     task(4, started_by=DEAL_MANAGER), S.CREATED),
    ("started by the deal's own manager: IN_PROGRESS is not held back",
     task(3, started_by=DEAL_MANAGER), S.IN_PROGRESS),
]


@pytest.mark.parametrize(("found", "status"), [row[1:] for row in STATUSES],
                         ids=[row[0] for row in STATUSES])
def test_a_task_found_under_way_starts_with_its_first_seen_status(
        found: TaskSnapshot, status: CrmTaskStatus) -> None:
    start = starting_status(found, item_responsibles=frozenset({DEAL_MANAGER}), now=NOW)
    assert start.status is status
    assert start.decisions[0].rule in (Rule.FIRST_SEEN, Rule.FIRST_SEEN_SELF_ASSIGNED)


def test_the_actor_rule_is_said_in_the_decisions() -> None:
    start = starting_status(task(4, started_by=DEAL_MANAGER),
                            item_responsibles=frozenset({DEAL_MANAGER}), now=NOW)
    assert [d.outcome for d in start.decisions] == [Outcome.APPLIED, Outcome.ACTOR_RULE]


# the task's dates | since when it holds its status
SINCE = [
    ("its last change, when after its status change",
     task(3, changed_date=NOW - timedelta(hours=1)), NOW - timedelta(hours=1)),
    ("its status change, when after its last change",
     task(3, changed_date=CHANGED, status_changed_date=STATUS_CHANGED), STATUS_CHANGED),
    ("the deadline it passed, when later than both",
     task(2, deadline=PASSED), PASSED),
    ("its last change, when after the deadline it passed",
     task(2, deadline=CHANGED - timedelta(days=1)), STATUS_CHANGED),
    ("a deadline ahead does not count", task(3, deadline=AHEAD), STATUS_CHANGED),
    ("no dates at all: now", task(2, changed_date=None, status_changed_date=None), NOW),
    ("a portal clock ahead of ours: still the portal's date",
     task(2, changed_date=NOW + timedelta(minutes=5)), NOW + timedelta(minutes=5)),
]


@pytest.mark.parametrize(("found", "since"), [row[1:] for row in SINCE],
                         ids=[row[0] for row in SINCE])
def test_the_status_is_dated_by_the_portal(found: TaskSnapshot, since: datetime) -> None:
    assert starting_status(found, item_responsibles=frozenset(), now=NOW).since == since


def test_an_item_shows_the_task_changed_last_on_the_portal_whatever_the_order_read() -> None:
    older = starting_status(task(3, changed_date=NOW - timedelta(hours=5)),
                            item_responsibles=frozenset(), now=NOW)
    newer = starting_status(
        task(4, changed_date=NOW - timedelta(hours=1)).model_copy(update={"id": 8}),
        item_responsibles=frozenset(), now=NOW)
    records = [start.record() for start in (newer, older)]
    assert item_status([r for r in records if r is not None]) is S.CONTROL_WAITING
    assert newer.record() == TaskStatusRecord(8, S.CONTROL_WAITING, NOW - timedelta(hours=1))


def test_a_task_without_status_gives_its_items_nothing() -> None:
    assert StartingStatus(7, None, NOW, ()).record() is None

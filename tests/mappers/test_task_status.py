"""The status a task keeps after its decisions, and since when (feeds spec §4)."""

from datetime import UTC, datetime, timedelta

import pytest

from mappers.decisions import Decision, Outcome, Rule, decide_closing
from mappers.statuses import CrmTaskStatus
from mappers.task_status import KeptStatus, status_kept

S, OUT = CrmTaskStatus, Outcome
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=2)


def applied(status, previous=None):
    return Decision(status, OUT.APPLIED, Rule.VIEWED, previous, status, "c")


def refused(desired, outcome=OUT.NOT_ALLOWED, previous=None):
    return Decision(None, outcome, Rule.VIEWED, previous, desired, "c")


NO_STATUS = Decision(None, OUT.NO_STATUS, Rule.OTHER_REAL_STATUS, S.WAITING, None, "c")

# status before | since | decisions | status kept, since
KEPT = [
    ("one applied decision", S.CREATED, EARLIER, [applied(S.VIEWED)], (S.VIEWED, NOW)),
    ("the last applied decision wins", S.CREATED, EARLIER,
     [applied(S.VIEWED), applied(S.IN_PROGRESS), refused(S.UPDATED, OUT.ACTOR_RULE)],
     (S.IN_PROGRESS, NOW)),
    ("nothing applied: status and moment stay", S.EXPIRED, EARLIER,
     [refused(S.IN_PROGRESS), NO_STATUS], (S.EXPIRED, EARLIER)),
    ("no decisions", S.WAITING, EARLIER, [], (S.WAITING, EARLIER)),
    ("first seen: no status before", None, None, [applied(S.CREATED)], (S.CREATED, NOW)),
    ("never had a status, nothing applied", None, None, [NO_STATUS], (None, None)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "before", "since", "decisions", "expected"), KEPT,
                         ids=[r[0] for r in KEPT])  # fmt: skip
def test_the_status_a_task_keeps(name, before, since, decisions, expected):
    assert status_kept(before, since, decisions, now=NOW) == KeptStatus(*expected)


def test_decisions_may_be_a_one_shot_iterator():
    kept = status_kept(S.CREATED, EARLIER, iter([applied(S.VIEWED)]), now=NOW)
    assert kept == KeptStatus(S.VIEWED, NOW)


# closing (§5): status before | the closing's status | kept
CLOSINGS = [
    ("an open task is completed", S.IN_PROGRESS, S.FINISHED, (S.FINISHED, NOW)),
    ("a task already in review stays", S.CONTROL_WAITING, S.CONTROL_WAITING,
     (S.CONTROL_WAITING, EARLIER)),
    ("an overdue task may be completed", S.EXPIRED, S.FINISHED, (S.FINISHED, NOW)),
    ("a task never given a status", None, S.FINISHED, (S.FINISHED, NOW)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "before", "closing", "expected"), CLOSINGS,
                         ids=[r[0] for r in CLOSINGS])  # fmt: skip
def test_the_status_a_closed_task_keeps(name, before, closing, expected):
    decision = decide_closing(before, closing, change_id="closing:D_12:WON:")
    since = None if before is None else EARLIER
    assert status_kept(before, since, [decision], now=NOW) == KeptStatus(*expected)

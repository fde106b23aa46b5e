"""Spec §5, review stage: when a held deal moves on, and a manual move out of review wins."""

import pytest

from mappers.bindings import CrmRef
from mappers.closing import Hold, PortalRules, StageMove
from mappers.review_stage import Release, current_hold, release
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot

DEAL = CrmRef(2, 12)
REVIEW, WON = "C1:REVIEW", "C1:WON"
HOLD = Hold(DEAL, REVIEW, WON)
RULES = PortalRules(review_stage_by_category={1: REVIEW})


def deal(category_id=1, stage_id=REVIEW):
    return CrmItemSnapshot(entity_type_id=2, id=12, category_id=category_id, stage_id=stage_id,
                           stage_semantic="P", closed=False)  # fmt: skip


def task(real_status):
    return TaskSnapshot(id=real_status, real_status=real_status, created_by=1, responsible_id=2)


# remembered final stage | funnel | rules | the hold
HOLDS = [
    ("a final stage was remembered", WON, 1, RULES, HOLD),
    ("a failure stage was remembered", "C1:LOSE", 1, RULES, Hold(DEAL, REVIEW, "C1:LOSE")),
    ("nothing remembered", None, 1, RULES, None),
    ("a blank stage remembered", "", 1, RULES, None),
    ("the funnel has no review stage (any more)", WON, 2, RULES, None),
    ("no review stages at all", WON, 1, PortalRules(), None),
    ("a blank review stage still counts", WON, 1,
     PortalRules(review_stage_by_category={1: ""}), Hold(DEAL, "", WON)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "held", "category", "rules", "expected"), HOLDS,
                         ids=[r[0] for r in HOLDS])  # fmt: skip
def test_the_hold_a_deal_is_under(name, held, category, rules, expected):
    assert current_hold(deal(category_id=category), held, rules) == expected


MOVE_ON = StageMove(DEAL, WON, held_until_tasks_done=False)

# the deal's stage now | its tasks' real statuses | what becomes of the hold
RELEASES = [
    ("in review, a task still open", REVIEW, [5, 3], Release(None, ends_hold=False)),
    ("in review, tasks in 4 are still open", REVIEW, [4], Release(None, ends_hold=False)),
    ("in review, every task completed: move on", REVIEW, [5, 5], Release(MOVE_ON, True)),
    ("in review, no tasks left: move on", REVIEW, [], Release(MOVE_ON, True)),
    ("moved out of review by hand, tasks open: their choice wins", "C1:NEW", [3],
     Release(None, ends_hold=True)),
    ("moved out of review by hand, tasks done: their choice wins", "C1:NEW", [5],
     Release(None, ends_hold=True)),
    ("moved on to the final stage by hand", WON, [3], Release(None, ends_hold=True)),
    ("moved to a blank stage", "", [5], Release(None, ends_hold=True)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "stage", "real_statuses", "expected"), RELEASES,
                         ids=[r[0] for r in RELEASES])  # fmt: skip
def test_releasing_a_held_deal(name, stage, real_statuses, expected):
    tasks = [task(status) for status in real_statuses]
    assert release(HOLD, tasks, current_stage_id=stage) == expected

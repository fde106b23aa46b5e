"""Spec §5: closing a lead or a deal."""

import pytest

from mappers.bindings import CrmRef
from mappers.closing import (
    ClosingAction,
    ClosingPlan,
    ClosingReason,
    Hold,
    PortalRules,
    StageMove,
    TaskClosing,
    plan_closing,
    plan_release,
)
from mappers.decisions import decide_closing
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import WritePlan, plan_closing_writes

S = CrmTaskStatus
A = ClosingAction
R = ClosingReason
CREATOR, RESPONSIBLE = 1, 2
DEAL = CrmRef(2, 12)


def deal(stage_id="WON", semantic="S", category_id=0) -> CrmItemSnapshot:
    return CrmItemSnapshot(entity_type_id=2, id=12, category_id=category_id, stage_id=stage_id,
                           stage_semantic=semantic, closed=semantic != "P")  # fmt: skip


def lead(semantic="S") -> CrmItemSnapshot:
    return CrmItemSnapshot(entity_type_id=1, id=7, stage_id="CONVERTED", stage_semantic=semantic,
                           closed=semantic != "P")  # fmt: skip


def task(task_id=1, real_status=3, control=False, responsible=RESPONSIBLE) -> TaskSnapshot:
    return TaskSnapshot(id=task_id, real_status=real_status, created_by=CREATOR,
                        responsible_id=responsible, task_control=control)  # fmt: skip


COMPLETE = (A.COMPLETE, R.ITEM_CLOSED, 5, S.FINISHED)
REVIEW = (A.REVIEW, R.UNDER_CONTROL, 4, S.CONTROL_WAITING)

# task | what closing the deal does to it
PER_TASK = [
    ("open, no control", task(), COMPLETE),
    ("deferred", task(real_status=6), COMPLETE),
    ("pending", task(real_status=2), COMPLETE),
    ("under control, responsible is someone else", task(control=True), REVIEW),
    ("under control, creator is responsible", task(control=True, responsible=CREATOR), COMPLETE),
    ("under control, already in 4", task(real_status=4, control=True),
     (A.LEAVE_OPEN, R.ALREADY_IN_REVIEW, 4, S.CONTROL_WAITING)),
    ("waiting for control but control now off", task(real_status=4), COMPLETE),
]  # fmt: skip


@pytest.mark.parametrize(("name", "open_task", "expected"), PER_TASK, ids=[r[0] for r in PER_TASK])
@pytest.mark.parametrize("semantic", ["S", "F"])
def test_closing_a_deal(name, open_task, expected, semantic):
    plan = plan_closing(deal(semantic=semantic), [open_task], PortalRules())
    assert plan == ClosingPlan(DEAL, "WON", (TaskClosing(open_task.id, *expected),))


def test_completed_tasks_are_not_in_the_plan_and_tasks_are_ordered_by_id():
    tasks = [task(3), task(2, real_status=5), task(1, control=True)]
    plan = plan_closing(deal(), tasks, PortalRules())
    assert [(c.task_id, c.action) for c in plan.tasks] == [(1, A.REVIEW), (3, A.COMPLETE)]


@pytest.mark.parametrize("semantic", ["S", "F"])
def test_a_closed_leads_tasks_stay_open_when_the_setting_is_off(semantic):
    rules = PortalRules(close_tasks_on_lead_convert=False)
    plan = plan_closing(lead(semantic), [task()], rules)
    assert plan.tasks == (TaskClosing(1, A.LEAVE_OPEN, R.LEAD_SETTING_OFF),)
    assert plan_closing(lead(semantic), [task()], PortalRules()).tasks[0].action is A.COMPLETE


def test_a_deals_tasks_stay_open_when_its_setting_is_off():
    plan = plan_closing(deal(), [task()], PortalRules(close_tasks_on_deal_close=False))
    assert plan.tasks == (TaskClosing(1, A.LEAVE_OPEN, R.DEAL_SETTING_OFF),)


@pytest.mark.parametrize(
    "item",
    [deal("NEW", "P"), lead("P"),
     CrmItemSnapshot(entity_type_id=3, id=4, stage_id="", stage_semantic="S", closed=True)],
    ids=["reopened deal", "lead in progress", "contact"],
)  # fmt: skip
def test_nothing_happens_unless_a_lead_or_deal_reaches_a_final_stage(item):
    plan = plan_closing(item, [task()], PortalRules())
    assert plan.tasks == () and plan.hold is None and plan.stage_move is None


REVIEW_RULES = PortalRules(review_stage_by_category={1: "C1:REVIEW"})


def test_a_deal_with_open_tasks_is_held_in_its_review_stage():
    plan = plan_closing(deal("C1:WON", category_id=1), [task()], REVIEW_RULES, occasion="t1")
    assert plan.tasks == (TaskClosing(1, A.LEAVE_OPEN, R.HELD_FOR_REVIEW),)
    assert plan.hold == Hold(DEAL, "C1:REVIEW", "C1:WON")
    assert plan.stage_move == StageMove(DEAL, "C1:REVIEW", held_until_tasks_done=True)
    assert plan.identity == "closing:D_12:C1:WON:t1"


@pytest.mark.parametrize(
    ("category_id", "tasks"),
    [(0, [task()]), (1, []), (1, [task(real_status=5)])],
    ids=["no review stage in this funnel", "no tasks", "only completed tasks"],
)
def test_no_hold_without_a_review_stage_or_open_tasks(category_id, tasks):
    plan = plan_closing(deal("C1:WON", category_id=category_id), tasks, REVIEW_RULES)
    assert plan.hold is None


def test_leads_are_never_held():
    rules = PortalRules(review_stage_by_category={0: "REVIEW"})
    assert plan_closing(lead(), [task()], rules).hold is None


HOLD = Hold(DEAL, "C1:REVIEW", "C1:WON")


def test_release_once_the_last_open_task_is_completed():
    assert plan_release(HOLD, [task(real_status=5), task(2, real_status=4)]) is None
    assert plan_release(HOLD, [task(real_status=5)]) == StageMove(
        DEAL, "C1:WON", held_until_tasks_done=False
    )
    assert plan_release(HOLD, [], current_stage_id="C1:REVIEW") is not None


def test_no_release_when_someone_moved_the_deal_meanwhile():
    assert plan_release(HOLD, [], current_stage_id="C1:NEGOTIATION") is None


@pytest.mark.parametrize(
    ("before", "after"),
    [(S.IN_PROGRESS, S.CONTROL_WAITING), (S.EXPIRED, S.CONTROL_WAITING),
     (S.CONTROL_WAITING, None)],
)  # fmt: skip
def test_section_5_a_controlled_task_already_in_4_is_not_touched_but_shows_control_waiting(
    before, after
):
    """§5: such a task "goes to real status 4 and CRM status CONTROL_WAITING"; it is in 4
    already, so nothing is called, and its CRM status follows unless it holds it."""
    plan = plan_closing(deal(), [task(real_status=4, control=True)], PortalRules())
    [closing] = plan.tasks
    assert plan_closing_writes(plan) == WritePlan()  # no call to the portal for the task
    decision = decide_closing(before, closing.crm_status, change_id=plan.identity)
    assert decision.status is after

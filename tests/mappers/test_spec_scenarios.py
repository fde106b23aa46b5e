"""Spec §7: the article's cases, played through the pure functions."""

from datetime import UTC, datetime, timedelta

from mappers.bindings import CrmRef
from mappers.changes import what_changed
from mappers.closing import ClosingAction, PortalRules, plan_closing
from mappers.decisions import decide_closing, decide_observation, final_status
from mappers.item_status import TaskStatusRecord, item_status
from mappers.overdue import overdue_tasks
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus

S = CrmTaskStatus
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MANAGER, COLLEAGUE, AUDITOR = 10, 20, 30
DEAL = CrmRef(2, 12)
LEAD = CrmRef(1, 7)


class Task:
    """A task as TaskBridge follows it: its last snapshot and its CRM status."""

    def __init__(self, *, item_manager: int = MANAGER, **fields) -> None:
        self.snapshot: TaskSnapshot | None = None
        self.status: CrmTaskStatus | None = None
        self.managers = frozenset({item_manager})
        self.clock = T0
        base = {"id": 1, "title": "Prepare the contract", "real_status": 2,
                "created_by": MANAGER, "responsible_id": COLLEAGUE, "crm_bindings": (DEAL,),
                "tags": ("CRM",), "result_count": 0}  # fmt: skip
        self.fields = {**base, **fields}

    def fork(self) -> "Task":
        """The same task, to play an alternative ending."""
        other = Task.__new__(Task)
        other.__dict__.update(self.__dict__, fields=dict(self.fields))
        return other

    def observe(self, actor: int | None, *, viewed: bool = False, now=None, **changes) -> None:
        self.clock += timedelta(minutes=5)
        self.fields.update(changes, changed_date=self.clock)
        if "real_status" in changes:
            self.fields["status_changed_date"] = self.clock
        current = TaskSnapshot(**self.fields)
        now = now or self.clock
        observed = what_changed(
            self.snapshot, current, actor_id=actor, viewed_by_responsible=viewed, now=now
        )
        decisions = decide_observation(
            self.status, observed, item_responsibles=self.managers,
            deadline=current.deadline, now=now,
        )  # fmt: skip
        self.status = final_status(self.status, decisions)
        self.snapshot = current


def test_scenario_1_contract_created_viewed_started_paused():
    task = Task()
    task.observe(MANAGER)  # the deal manager creates it for a colleague
    assert task.status is S.CREATED
    task.observe(COLLEAGUE, viewed=True)  # the colleague opens it
    assert task.status is S.VIEWED
    task.observe(COLLEAGUE, real_status=3)  # starts it
    assert task.status is S.IN_PROGRESS
    task.observe(COLLEAGUE, real_status=2)  # pauses it
    assert task.status is S.WAITING


def test_scenario_1_a_start_is_the_first_sign_the_colleague_saw_it():
    task = Task()
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    assert task.status is S.IN_PROGRESS


def test_scenario_2_auditor_edits_updated_deal_manager_edits_no_change():
    task = Task(auditors=(AUDITOR,))
    task.observe(MANAGER)
    task.observe(COLLEAGUE, viewed=True)
    task.observe(AUDITOR, description="Include the discount clause")
    assert task.status is S.UPDATED
    task.observe(COLLEAGUE, real_status=3)
    task.observe(MANAGER, description="Include the penalty clause too")
    assert task.status is S.IN_PROGRESS
    task.observe(MANAGER, checklist_digest="two items")
    assert task.status is S.IN_PROGRESS
    task.observe(AUDITOR, checklist_digest="three items")
    assert task.status is S.UPDATED


def test_scenario_3_deadline_moved_then_passed():
    task = Task(deadline=T0 + timedelta(days=1))
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    task.observe(MANAGER, deadline=T0 + timedelta(days=2))  # the creator moves the deadline
    assert task.status is S.DEADLINE_CHANGED
    sweep_time = T0 + timedelta(days=3)
    assert overdue_tasks([task.snapshot], sweep_time) == [task.snapshot]
    task.observe(None, now=sweep_time)  # the overdue sweep
    assert task.status is S.EXPIRED


def test_scenario_4_result_required_task_gets_a_result():
    task = Task(result_required=True)
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    task.observe(COLLEAGUE, result_count=1)
    assert task.status is S.RESULT_ADDED


def test_scenario_5_controlled_task_completed_accepted_or_returned():
    task = Task(task_control=True)
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    task.observe(COLLEAGUE, real_status=4)  # the responsible completes it
    assert task.status is S.CONTROL_WAITING
    returned = task.fork()
    task.observe(MANAGER, real_status=5)  # the creator accepts
    assert task.status is S.FINISHED
    returned.observe(MANAGER, real_status=2)  # ... or returns it
    assert returned.status is S.WAITING


def test_scenario_6_kanban_shows_the_task_changed_last():
    records = [
        TaskStatusRecord(1, S.IN_PROGRESS, T0 + timedelta(hours=1)),
        TaskStatusRecord(2, S.DEADLINE_CHANGED, T0 + timedelta(hours=3)),
        TaskStatusRecord(3, S.VIEWED, T0 + timedelta(hours=2)),
    ]
    assert item_status(records) is S.DEADLINE_CHANGED
    assert item_status(records, excluded=frozenset({2})) is S.VIEWED  # task 2 deleted


def won_deal() -> CrmItemSnapshot:
    return CrmItemSnapshot.from_deal(
        {
            "ID": "12",
            "CATEGORY_ID": "0",
            "STAGE_ID": "WON",
            "STAGE_SEMANTIC_ID": "S",
            "CLOSED": "Y",
            "ASSIGNED_BY_ID": str(MANAGER),
        }
    )


def open_tasks(*bound: CrmRef) -> list[TaskSnapshot]:
    common = {"real_status": 3, "created_by": MANAGER, "responsible_id": COLLEAGUE,
              "crm_bindings": bound}  # fmt: skip
    return [
        TaskSnapshot(id=1, title="Prepare the contract", **common),
        TaskSnapshot(id=2, title="Send the invoice", task_control=True, **common),
    ]


def test_scenario_7_deal_won_with_two_open_tasks_one_under_control():
    plan = plan_closing(won_deal(), open_tasks(DEAL), PortalRules())
    statuses = {c.task_id: (c.action, c.real_status, c.crm_status) for c in plan.tasks}
    assert statuses == {
        1: (ClosingAction.COMPLETE, 5, S.FINISHED),
        2: (ClosingAction.REVIEW, 4, S.CONTROL_WAITING),
    }
    assert plan.hold is None
    decisions = [
        decide_closing(S.IN_PROGRESS, c.crm_status, change_id=plan.identity) for c in plan.tasks
    ]
    assert [d.status for d in decisions] == [S.FINISHED, S.CONTROL_WAITING]


def converted_lead() -> CrmItemSnapshot:
    return CrmItemSnapshot.from_lead(
        {"ID": "7", "STATUS_ID": "CONVERTED", "STATUS_SEMANTIC_ID": "S", "ASSIGNED_BY_ID": "10"}
    )


def test_scenario_8_lead_converted_setting_off_tasks_stay_open_on_closed_as_in_7():
    kept = plan_closing(
        converted_lead(), open_tasks(LEAD), PortalRules(close_tasks_on_lead_convert=False)
    )
    assert {c.action for c in kept.tasks} == {ClosingAction.LEAVE_OPEN}
    closed = plan_closing(converted_lead(), open_tasks(LEAD), PortalRules())
    assert [(c.action, c.crm_status) for c in closed.tasks] == [
        (ClosingAction.COMPLETE, S.FINISHED),
        (ClosingAction.REVIEW, S.CONTROL_WAITING),
    ]


# Cases the spec's tables name besides §7 ----------------------------------------------

NEW_RESPONSIBLE = 40


def test_section_1_waiting_back_to_pending_after_delegate():
    task = Task()
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    # The colleague delegates: pending again, a new responsible, the colleague an auditor.
    task.observe(COLLEAGUE, real_status=2, responsible_id=NEW_RESPONSIBLE, auditors=(COLLEAGUE,))
    assert task.status is S.WAITING


def test_section_1_delegating_a_pending_task_is_an_update_of_its_people():
    task = Task()
    task.observe(MANAGER)
    task.observe(COLLEAGUE, viewed=True)
    task.observe(COLLEAGUE, responsible_id=NEW_RESPONSIBLE, auditors=(COLLEAGUE,))
    assert task.status is S.UPDATED


def test_section_3_a_completed_task_leaves_finished_only_when_renewed_or_returned():
    task = Task(deadline=T0 + timedelta(minutes=30))
    task.observe(MANAGER)
    task.observe(COLLEAGUE, real_status=3)
    task.observe(COLLEAGUE, real_status=5)
    assert task.status is S.FINISHED
    late = T0 + timedelta(hours=1)
    returned = task.fork()
    task.observe(MANAGER, real_status=2, now=late)  # renewed after its deadline
    assert task.status is S.EXPIRED  # FINISHED → WAITING → EXPIRED in one observation
    task.observe(COLLEAGUE, real_status=3, now=late)  # started: still overdue
    assert task.status is S.EXPIRED
    task.observe(MANAGER, deadline=late + timedelta(days=1), now=late)
    assert task.status is S.DEADLINE_CHANGED
    returned.observe(MANAGER, real_status=2)  # renewed before its deadline
    assert returned.status is S.WAITING

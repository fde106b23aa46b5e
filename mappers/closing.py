"""What happens to a lead's or a deal's open tasks when it closes (spec §5).

``plan_closing`` looks at an item that has just reached a final stage (semantics
``S`` or ``F``) and its bound tasks:

- a task already completed (real status 5) is not in the plan;
- a task under control (``TASK_CONTROL=Y``) whose responsible is not its creator goes
  ``REVIEW``: real status 4, CRM status ``CONTROL_WAITING``; if it is in 4 already the
  task is left as it is (``LEAVE_OPEN``, no call to the portal) but still takes CRM
  status ``CONTROL_WAITING``, which ``decide_closing`` applies unless it holds it
  already. Closing is TaskBridge's own act, so no actor rule applies to it;
- every other open task goes ``COMPLETE``: real status 5, CRM status ``FINISHED``;
- a lead's tasks stay open when the portal turned "close tasks automatically when a
  lead is converted" off, for converted (``S``) and junk (``F``) leads alike: the
  article says tasks are then not completed "not even if the lead is converted";
- a deal's tasks stay open when ``close_tasks_on_deal_close`` is off;
- when the deal's funnel has a review stage and open tasks remain, nothing is closed:
  the deal is held in the review stage, remembering the final stage asked for, and
  ``plan_release`` moves it there once its last open task is completed.

An item that is not in a final stage (for instance reopened) gets an empty plan:
reopening never reopens tasks. Contacts, companies and smart processes have no
closing behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from mappers.bindings import CrmRef
from mappers.snapshots import COMPLETED, SUPPOSEDLY_COMPLETED, CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus


@dataclass(frozen=True)
class PortalRules:
    """A portal's closing settings."""

    close_tasks_on_lead_convert: bool = True
    close_tasks_on_deal_close: bool = True
    review_stage_by_category: Mapping[int, str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    language: str = "en"


class ClosingAction(StrEnum):
    COMPLETE = "complete"
    REVIEW = "review"
    LEAVE_OPEN = "leave_open"


class ClosingReason(StrEnum):
    """Why a task is closed this way or left open."""

    ITEM_CLOSED = "its CRM item was closed"
    UNDER_CONTROL = "its CRM item was closed; the creator must review it"
    ALREADY_IN_REVIEW = "already waiting for the creator's review"
    LEAD_SETTING_OFF = "the portal keeps tasks open when a lead is closed"
    DEAL_SETTING_OFF = "the portal keeps tasks open when a deal is closed"
    HELD_FOR_REVIEW = "the deal waits in its review stage until its tasks are completed"


@dataclass(frozen=True, slots=True)
class TaskClosing:
    """What to do to one task: target real status and CRM status (``None``: leave it).

    ``LEAVE_OPEN`` never calls the portal; with a ``crm_status`` (a task already in
    review) that status is still set.
    """

    task_id: int
    action: ClosingAction
    reason: ClosingReason
    real_status: int | None = None
    crm_status: CrmTaskStatus | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A deal parked in its review stage until its open tasks are completed."""

    item: CrmRef
    review_stage_id: str
    final_stage_id: str


@dataclass(frozen=True, slots=True)
class StageMove:
    """Move a deal to a stage."""

    item: CrmRef
    stage_id: str
    held_until_tasks_done: bool  # True: into review; False: on to the final stage


@dataclass(frozen=True, slots=True)
class ClosingPlan:
    """Everything that closing one item asks for; compares with ``==``."""

    item: CrmRef
    stage_id: str
    tasks: tuple[TaskClosing, ...] = ()
    hold: Hold | None = None
    occasion: str = ""

    @property
    def identity(self) -> str:
        """Names this closing: the item, the final stage it reached, and the occasion."""
        return f"closing:{self.item.code}:{self.stage_id}:{self.occasion}"

    @property
    def stage_move(self) -> StageMove | None:
        if self.hold is None:
            return None
        return StageMove(self.item, self.hold.review_stage_id, held_until_tasks_done=True)


def _close(task: TaskSnapshot) -> TaskClosing:
    if task.task_control and task.responsible_id != task.created_by:
        if task.real_status == SUPPOSEDLY_COMPLETED:
            # Already where §5 wants it: nothing to call, but its CRM status must follow.
            return TaskClosing(
                task.id,
                ClosingAction.LEAVE_OPEN,
                ClosingReason.ALREADY_IN_REVIEW,
                SUPPOSEDLY_COMPLETED,
                CrmTaskStatus.CONTROL_WAITING,
            )
        return TaskClosing(
            task.id,
            ClosingAction.REVIEW,
            ClosingReason.UNDER_CONTROL,
            SUPPOSEDLY_COMPLETED,
            CrmTaskStatus.CONTROL_WAITING,
        )
    return TaskClosing(
        task.id,
        ClosingAction.COMPLETE,
        ClosingReason.ITEM_CLOSED,
        COMPLETED,
        CrmTaskStatus.FINISHED,
    )


def _kept_open_reason(item: CrmItemSnapshot, rules: PortalRules) -> ClosingReason | None:
    kind = item.ref.kind
    if kind == "lead" and not rules.close_tasks_on_lead_convert:
        return ClosingReason.LEAD_SETTING_OFF
    if kind == "deal" and not rules.close_tasks_on_deal_close:
        return ClosingReason.DEAL_SETTING_OFF
    return None


def plan_closing(
    item: CrmItemSnapshot,
    open_tasks: Iterable[TaskSnapshot],
    rules: PortalRules,
    *,
    occasion: str = "",
) -> ClosingPlan:
    """The closing plan for an item and the tasks bound to it (completed ones are skipped).

    ``occasion`` tells one closing of the item from a later one (for example the
    deal's ``DATE_MODIFY``); it only feeds the plan's identity and idempotency keys.
    """
    plan = ClosingPlan(item.ref, item.stage_id, occasion=occasion)
    ref = item.ref
    if not item.is_final or ref.kind not in ("lead", "deal"):
        return plan
    tasks = sorted((t for t in open_tasks if not t.is_completed), key=lambda t: t.id)
    review_stage = rules.review_stage_by_category.get(item.category_id)
    if ref.kind == "deal" and review_stage and tasks and review_stage != item.stage_id:
        left = tuple(
            TaskClosing(t.id, ClosingAction.LEAVE_OPEN, ClosingReason.HELD_FOR_REVIEW)
            for t in tasks
        )
        return replace(plan, tasks=left, hold=Hold(ref, review_stage, item.stage_id))
    kept_open = _kept_open_reason(item, rules)
    if kept_open is not None:
        left = tuple(TaskClosing(t.id, ClosingAction.LEAVE_OPEN, kept_open) for t in tasks)
        return replace(plan, tasks=left)
    return replace(plan, tasks=tuple(_close(t) for t in tasks))


def plan_release(
    held: Hold,
    remaining_open_tasks: Iterable[TaskSnapshot],
    *,
    current_stage_id: str | None = None,
) -> StageMove | None:
    """Once a held deal's last open task is completed, the move to the final stage asked for.

    ``None`` while a task is still open, or when someone has moved the deal out of the
    review stage meanwhile (``current_stage_id``): a person's choice wins.
    """
    if current_stage_id is not None and current_stage_id != held.review_stage_id:
        return None
    if any(not task.is_completed for task in remaining_open_tasks):
        return None
    return StageMove(held.item, held.final_stage_id, held_until_tasks_done=False)

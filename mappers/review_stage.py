"""A deal held in its review stage: when the hold still applies, and how it ends (spec §5).

``closing.plan_closing`` parks a deal in its funnel's review stage while tasks are open
and remembers the final stage asked for. Each later observation of one of its tasks asks
``release``: once no task is open the deal moves on (``closing.plan_release``), and the
hold ends; when someone has moved the deal out of the review stage by hand, their choice
wins: nothing moves, and the hold ends too. A hold whose funnel no longer has a review
stage is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mappers.closing import Hold, PortalRules, StageMove, plan_release
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot


@dataclass(frozen=True, slots=True)
class Release:
    """What becomes of a hold: the move on to the final stage (if any), and whether
    TaskBridge forgets the hold."""

    move: StageMove | None
    ends_hold: bool


def current_hold(
    item: CrmItemSnapshot, held_final_stage: str | None, rules: PortalRules
) -> Hold | None:
    """The hold `item` is under: a final stage was remembered for it and its funnel (still)
    has a review stage."""
    if not held_final_stage:
        return None
    review = rules.review_stage_by_category.get(item.category_id)
    if review is None:
        return None
    return Hold(item.ref, review, held_final_stage)


def release(
    hold: Hold, remaining_tasks: Iterable[TaskSnapshot], *, current_stage_id: str
) -> Release:
    """The release of `hold`, given the deal's tasks and the stage it is in now."""
    move = plan_release(hold, remaining_tasks, current_stage_id=current_stage_id)
    moved_by_hand = move is None and current_stage_id != hold.review_stage_id
    return Release(move, ends_hold=move is not None or moved_by_hand)

"""What happened to a deal or a lead since TaskBridge last saw it (spec §5).

An item whose stage is final (semantics ``S`` or ``F``) and which TaskBridge does not
remember as closed has just been closed: its open tasks are listed and the closing is
planned, once. One remembered as closed that is no longer final was reopened: TaskBridge
forgets that it was closed, and its tasks stay as they are (reopening never reopens
tasks). A deal held in its review stage is not remembered as closed: when it is moved on
to the final stage asked for, that move closes it like any other.
"""

from __future__ import annotations

from enum import StrEnum

from mappers.closing import ClosingPlan
from mappers.snapshots import CrmItemSnapshot


class ItemTransition(StrEnum):
    GONE = "item not found on the portal (deleted)"
    REACHED_FINAL = "reached a final stage"
    REOPENED = "reopened: its tasks stay as they are"
    STILL_CLOSED = "already closed"
    STILL_OPEN = "not in a final stage"


def item_transition(item: CrmItemSnapshot | None, was_closed: bool | None) -> ItemTransition:
    """What `item` (as fetched; ``None``: not found) did since it was last seen closed
    (``was_closed``) or not (``False``, or ``None`` when never seen)."""
    if item is None:
        return ItemTransition.GONE
    if item.is_final and not was_closed:
        return ItemTransition.REACHED_FINAL
    if not item.is_final and was_closed:
        return ItemTransition.REOPENED
    return ItemTransition.STILL_CLOSED if item.is_final else ItemTransition.STILL_OPEN


def remembered_after_closing(plan: ClosingPlan) -> tuple[bool, str | None]:
    """(closed, held final stage) to remember of an item once its closing is planned: a deal
    held in review is not closed yet, and remembers the final stage that was asked for."""
    if plan.hold is None:
        return True, None
    return False, plan.hold.final_stage_id

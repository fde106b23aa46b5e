"""Which of a pass's item-status writes are sent (spec §4, §6).

One pass may compute an item's status several times (once per changed task it decides);
only the last, which saw every task of the pass, is written. And an item whose card
already shows the status, as TaskBridge last wrote it, needs no write at all; an item
TaskBridge has no memory of is always written, since nobody knows what its card shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from mappers.statuses import CrmTaskStatus
from mappers.write_plan import Write, WriteKind


def last_status_per_item(writes: Sequence[Write]) -> list[Write]:
    """The writes in order, each item's status writes but its last one left out."""
    last = {w.item: i for i, w in enumerate(writes) if w.kind is WriteKind.ITEM_STATUS}
    return [w for i, w in enumerate(writes)
            if w.kind is not WriteKind.ITEM_STATUS or last[w.item] == i]


def written_status(write: Write) -> CrmTaskStatus | None:
    """The status an item-status write sets; ``None`` when it clears the field."""
    code = str(write.field("xml_id"))
    return CrmTaskStatus(code) if code else None


def status_unchanged(
    shown: CrmTaskStatus | None, status: CrmTaskStatus | None, *, remembered: bool
) -> bool:
    """True when the card already shows `status`: TaskBridge remembers the item and the
    status it shows (``shown``, as last written or planned in this pass) is this one."""
    return shown == status and remembered

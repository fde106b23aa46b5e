"""The CRM status a task keeps after an observation or a closing, and since when.

The item's status (``item_status``) goes to the task whose status changed last, so each
task remembers when its own status last changed: ``now`` when a decision of this
observation applied, otherwise the moment it had before (``None`` for a task with none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mappers.decisions import Decision, final_status
from mappers.statuses import CrmTaskStatus


@dataclass(frozen=True, slots=True)
class KeptStatus:
    """A task's CRM status after its decisions, and when it took it."""

    status: CrmTaskStatus | None
    changed_at: datetime | None


def status_kept(
    before: CrmTaskStatus | None,
    changed_at: datetime | None,
    decisions: Iterable[Decision],
    *,
    now: datetime,
) -> KeptStatus:
    """The status after `decisions` (from `before`, which changed at `changed_at`)."""
    decided = tuple(decisions)
    applied = any(decision.applied for decision in decided)
    return KeptStatus(final_status(before, decided), now if applied else changed_at)

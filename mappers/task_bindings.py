"""Which of a task's CRM bindings TaskBridge acts on (spec §4, §6).

A task that is bound to no CRM item, and was bound to none when last seen, concerns
nobody: TaskBridge leaves it alone. One that lost its last binding still matters: the
items it left fall back to their next most recent task. Only deals and leads carry the
status field, so only they get a status (their contacts, companies and smart-process
items count for the actor rule alone).
"""

from __future__ import annotations

from collections.abc import Iterable

from mappers.bindings import CrmRef
from mappers.write_plan import STATUS_FIELD_KINDS


def concerns_crm(previous: tuple[CrmRef, ...] | None, current: tuple[CrmRef, ...]) -> bool:
    """The task is bound to a CRM item now, or was when last seen (``previous``; ``None``
    when never seen)."""
    return bool(current) or (previous is not None and bool(previous))


def status_items(refs: Iterable[CrmRef]) -> list[CrmRef]:
    """The deals and leads among `refs`, in their order: the items that show a status."""
    return [ref for ref in refs if ref.kind in STATUS_FIELD_KINDS]


def unbound_status_items(previous: Iterable[CrmRef], current: Iterable[CrmRef]) -> list[CrmRef]:
    """The deals and leads the task was bound to and no longer is."""
    return status_items(set(previous) - set(current))

"""The kinds of change an observation of a task can hold, and the ``Change`` value itself.

``CHANGE_ORDER`` is the fixed order of the kinds. The changes of one observation are applied
in the order they happened (``change_order``); the fixed order breaks ties between changes
whose dates say nothing about which came first, and is kept whole when a date is missing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ChangeKind(StrEnum):
    """Kinds of observed change, declared in the fixed order (the tie-break)."""

    FIRST_SEEN = "first_seen"
    VIEWED = "viewed"
    REAL_STATUS = "real_status"
    DEADLINE = "deadline"
    RESULT_ADDED = "result_added"
    FIELDS = "fields"
    OVERDUE = "overdue"


CHANGE_ORDER: tuple[ChangeKind, ...] = tuple(ChangeKind)


# A NamedTuple: an immutable value like a frozen dataclass, built several times faster
# (one is made per observed change; bench/decide_bench.py).
class Change(NamedTuple):
    """One observed change of a task.

    ``identity`` names this change stably (same observation, same identity) and is what
    idempotency keys are made of. ``real_status`` is the new real status
    (``REAL_STATUS``), ``self_assigned`` tells whether creator == responsible
    (``FIRST_SEEN``), ``fields`` lists what changed (``FIELDS``).
    """

    kind: ChangeKind
    actor_id: int | None
    identity: str
    real_status: int | None = None
    previous_real_status: int | None = None
    self_assigned: bool = False
    fields: tuple[str, ...] = ()

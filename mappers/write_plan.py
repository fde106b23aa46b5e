"""Turn decisions and closing plans into the portal writes they need (spec §6).

Writes are values: a ``WritePlan`` holds ``Write`` entries that tests compare with
``==`` and that the connector maps to REST calls. Every write has an idempotency key,
a hash of portal-independent facts (the CRM item, the task, the status, the identity
of the change or closing that caused it), so planning the same observation again,
given the keys already written, plans nothing new.

- ``ITEM_STATUS``: set ``UF_CRM_TASKBRIDGE_STATUS`` on a deal or lead to the status
  it shows (§4); the enumeration value comes from the portal's field, the ``xml_id``
  is the status code.
- ``TIMELINE``: one entry on each bound CRM item per applied status change (the task's
  title, its new status in the portal language, and the reason).
- ``TASK_TAG``: the ``CRM`` tag, added to the task's own tags, never replacing them.
- ``TASK_CLOSE``: bring a task to real status 5 or 4 (closing, §5).
- ``ITEM_STAGE``: move a deal to its review stage, or on to the final stage.
- ``ITEM_CARD``: add or update the deal's or lead's configurable activity, whose badge
  puts its status on the kanban card (planned by ``mappers.kanban_card.plan_card``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import NamedTuple

from mappers.bindings import DEAL, LEAD, CrmRef
from mappers.closing import ClosingAction, ClosingPlan, ClosingReason, StageMove
from mappers.decisions import Decision
from mappers.reasons import reason_phrases, reason_text
from mappers.snapshots import TASKBRIDGE_TAG, TaskSnapshot
from mappers.statuses import CrmTaskStatus, label, labels_for, language_code

STATUS_FIELD = "UF_CRM_TASKBRIDGE_STATUS"
STATUS_FIELD_KINDS = frozenset({"lead", "deal"})
# Only deals and leads carry the status field (§6) and take TaskBridge's timeline entries:
# a task's contacts, companies and smart-process items count for the actor rule (§3)
# alone, so nothing is written to them.
_STATUS_FIELD_TYPES = frozenset({LEAD, DEAL})


class WriteKind(StrEnum):
    ITEM_STATUS = "item_status"
    TIMELINE = "timeline"
    TASK_TAG = "task_tag"
    TASK_CLOSE = "task_close"
    ITEM_STAGE = "item_stage"
    ITEM_CARD = "item_card"


FieldValue = str | tuple[str, ...]


# A NamedTuple: an immutable value like a frozen dataclass, built several times faster
# (one is made per planned write; bench/decide_bench.py).
class Write(NamedTuple):
    """One write to the portal, keyed for idempotency."""

    kind: WriteKind
    key: str
    item: CrmRef | None = None
    task_id: int | None = None
    fields: tuple[tuple[str, FieldValue], ...] = ()

    def field(self, name: str) -> FieldValue:
        """The value of one of the write's fields."""
        for key, value in self.fields:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class WritePlan:
    """An ordered list of writes."""

    writes: tuple[Write, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(write.key for write in self.writes)

    def __iter__(self) -> Iterator[Write]:
        return iter(self.writes)

    def __len__(self) -> int:
        return len(self.writes)

    def __add__(self, other: WritePlan) -> WritePlan:
        return _collect((*self.writes, *other.writes), frozenset())

    def of_kind(self, kind: WriteKind) -> tuple[Write, ...]:
        return tuple(write for write in self.writes if write.kind is kind)


_KEY_PREFIX = {kind: f"{kind.value}:" for kind in WriteKind}
# Read on every plan: module names cost far less than ``WriteKind.X`` in Python 3.11,
# whose enum metaclass hooks attribute lookups.
_TIMELINE, _ITEM_STATUS = WriteKind.TIMELINE, WriteKind.ITEM_STATUS
_tuple_new = tuple.__new__


def idempotency_key(kind: WriteKind, *facts: object) -> str:
    """``kind:hash`` of the facts that make a write this write and no other."""
    return _hashed(kind, "\x1f".join(map(str, facts)))


def _hashed(kind: WriteKind, facts: str) -> str:
    # The first 16 bytes in hex: the first 32 hex digits, without formatting all 64.
    return _KEY_PREFIX[kind] + hashlib.sha256(facts.encode()).digest()[:16].hex()


_NOTHING = WritePlan()


def _collect(writes: Sequence[Write], already_written: frozenset[str]) -> WritePlan:
    if len(writes) < 2 and not already_written:  # nothing to repeat, nothing to skip
        return WritePlan(tuple(writes))
    seen = set(already_written)
    kept = []
    for write in writes:
        key = write.key
        if key not in seen:
            seen.add(key)
            kept.append(write)
    return WritePlan(tuple(kept))


def _timeline(
    task: TaskSnapshot,
    decision: Decision,
    labels: Mapping[CrmTaskStatus, str],
    phrases: Mapping[StrEnum, str],
) -> list[Write]:
    """One entry per bound deal or lead; they differ only in the item (and so the key)."""
    status = decision.status
    assert status is not None  # only applied decisions reach the timeline
    code, status_label, reason = str(status), labels[status], phrases[decision.rule]
    fields = (
        ("title", task.title),
        ("status", code),
        ("label", status_label),
        ("reason", reason),
        ("text", f"«{task.title}»: {status_label} ({reason})"),
    )
    # The facts of idempotency_key(TIMELINE, item code, task ID, status, change), joined.
    facts = f"\x1f{task.id}\x1f{code}\x1f{decision.change_id}"
    return [
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (one frame per entry).
        _tuple_new(Write, (_TIMELINE, _hashed(_TIMELINE, item.code + facts), item, task.id,
                           fields))
        for item in task.crm_bindings if item.entity_type_id in _STATUS_FIELD_TYPES
    ]  # fmt: skip


def item_status_write(
    item: CrmRef,
    status: CrmTaskStatus | None,
    *,
    cause: str,
    language: str = "en",
    status_field_values: Mapping[CrmTaskStatus, str] | None = None,
) -> Write:
    """Set an item's status field to ``status`` (``None`` clears it); ``cause`` names why."""
    return _item_status_write(item, status, cause, labels_for(language), status_field_values)


def _item_status_write(
    item: CrmRef,
    status: CrmTaskStatus | None,
    cause: str,
    labels: Mapping[CrmTaskStatus, str],
    status_field_values: Mapping[CrmTaskStatus, str] | None,
) -> Write:
    if status is None:
        value = code = status_label = ""
    else:
        value = (status_field_values or {}).get(status, "")
        code, status_label = str(status), labels[status]
    # The facts of idempotency_key(ITEM_STATUS, item code, status or "-", cause), joined.
    facts = f"{item.code}\x1f{code or '-'}\x1f{cause}"
    fields = (("field", STATUS_FIELD), ("value", value), ("xml_id", code), ("label", status_label))
    # tuple.__new__ skips the NamedTuple's Python-level __new__ (one frame per write).
    return _tuple_new(Write, (_ITEM_STATUS, _hashed(_ITEM_STATUS, facts), item, None, fields))


def tag_write(task: TaskSnapshot) -> Write | None:
    """Add the ``CRM`` tag to a bound task that lacks it, keeping its other tags.

    The key names the task as observed (its ``changedDate``): replaying that observation
    writes nothing twice, while a later one that finds the tag removed again writes it
    again, since removing it changed the task.
    """
    if not task.crm_bindings or TASKBRIDGE_TAG in task.tags:
        return None
    tags = (*task.tags, TASKBRIDGE_TAG)
    changed = "-" if task.changed_date is None else task.changed_date.astimezone(UTC).isoformat()
    return Write(
        WriteKind.TASK_TAG,
        idempotency_key(WriteKind.TASK_TAG, task.id, changed, *task.tags),
        task_id=task.id,
        fields=(("tags", tags), ("add", TASKBRIDGE_TAG)),
    )


def plan_writes(
    task: TaskSnapshot,
    decisions: Sequence[Decision],
    *,
    item_statuses: Mapping[CrmRef, CrmTaskStatus | None] | None = None,
    language: str = "en",
    status_field_values: Mapping[CrmTaskStatus, str] | None = None,
    already_written: frozenset[str] = frozenset(),
    timeline: bool = True,
) -> WritePlan:
    """The writes one observation of a task needs.

    ``item_statuses`` is the status each bound deal or lead shows after the decisions
    (see ``item_status``); it is written only when a decision was applied. Writes whose
    key is in ``already_written`` are left out. ``timeline=False`` leaves the timeline
    entries to the caller (a closing announces all its tasks in one entry).
    """
    tag = tag_write(task)
    applied = [decision for decision in decisions if decision.status is not None]
    if not applied:  # most observations of a quiet task: at most the tag
        return _NOTHING if tag is None else _collect((tag,), already_written)
    writes: list[Write] = [] if tag is None else [tag]
    labels = labels_for(language)
    if timeline:
        phrases = reason_phrases(language)
        for decision in applied:
            writes.extend(_timeline(task, decision, labels, phrases))
    cause = f"task:{task.id}:{applied[-1].change_id}"
    for item, status in (item_statuses or {}).items():
        if item.entity_type_id in _STATUS_FIELD_TYPES:
            writes.append(_item_status_write(item, status, cause, labels, status_field_values))
    return _collect(writes, already_written)


def _stage_writes(
    move: StageMove, cause: str, language: str, reason: ClosingReason | None
) -> list[Write]:
    stage = Write(
        WriteKind.ITEM_STAGE,
        idempotency_key(WriteKind.ITEM_STAGE, move.item.code, move.stage_id, cause),
        item=move.item,
        fields=(("stage_id", move.stage_id),),
    )
    if reason is None:
        return [stage]
    text = reason_text(reason, language)
    note = Write(
        WriteKind.TIMELINE,
        idempotency_key(WriteKind.TIMELINE, move.item.code, move.stage_id, cause),
        item=move.item,
        fields=(("stage_id", move.stage_id), ("reason", text), ("text", text)),
    )
    return [stage, note]


def plan_closing_writes(
    plan: ClosingPlan, *, language: str = "en", already_written: frozenset[str] = frozenset()
) -> WritePlan:
    """The task closings and the review-stage move a closing plan asks for.

    The tasks' new CRM statuses and their timeline entries come from
    ``decide_closing`` decisions passed to ``plan_writes``.
    """
    language = language_code(language)
    writes = [
        Write(
            WriteKind.TASK_CLOSE,
            idempotency_key(WriteKind.TASK_CLOSE, plan.identity, closing.task_id),
            item=plan.item,
            task_id=closing.task_id,
            fields=(
                ("real_status", str(closing.real_status)),
                ("crm_status", str(closing.crm_status)),
                ("action", closing.action.value),
            ),
        )
        for closing in plan.tasks
        if closing.action is not ClosingAction.LEAVE_OPEN
    ]
    move = plan.stage_move
    if move is not None:
        writes.extend(_stage_writes(move, plan.identity, language, ClosingReason.HELD_FOR_REVIEW))
    return _collect(writes, already_written)


def plan_release_writes(
    move: StageMove,
    *,
    cause: str,
    already_written: frozenset[str] = frozenset(),
) -> WritePlan:
    """Move a held deal on to the final stage once its tasks are done; ``cause`` names the hold."""
    return _collect(_stage_writes(move, f"release:{cause}", "en", None), already_written)


def closing_summary_write(
    plan: ClosingPlan,
    closed: Sequence[tuple[str, CrmTaskStatus, ClosingReason]],
    *,
    language: str = "en",
    already_written: frozenset[str] = frozenset(),
) -> WritePlan:
    """One timeline entry on the closed item naming each task it closed, its new status
    and why: a deal closing 45 tasks writes one entry, not 45."""
    if not closed:
        return WritePlan()
    language = language_code(language)
    parts = [
        f"«{title}»: {label(status, language)} ({reason_text(reason, language)})"
        for title, status, reason in closed
    ]
    return _collect(
        [
            Write(
                WriteKind.TIMELINE,
                idempotency_key(WriteKind.TIMELINE, plan.item.code, plan.identity, "closing"),
                item=plan.item,
                fields=(("tasks", str(len(parts))), ("text", "; ".join(parts))),
            )
        ],
        already_written,
    )

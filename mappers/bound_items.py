"""The responsibles of the CRM items a task is bound to, for the actor rule (spec §3).

Deals and leads come as ``CrmItemSnapshot`` (they also carry stages and the status
field); contacts, companies and smart-process items come as ``BoundItem``, built from
the ``crm.item.get``/``list`` answer (camelCase, integer IDs). Either one gives a ``ref``
and an ``assigned_by_id``, which is all the actor rule reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mappers.bindings import CrmKind, CrmRef
from mappers.errors import SnapshotError

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class HasResponsible(Protocol):
    @property
    def ref(self) -> CrmRef: ...

    @property
    def assigned_by_id(self) -> int | None: ...


class BoundItem(BaseModel):
    """A contact, company or smart-process item as ``crm.item`` answered it, typed."""

    model_config = _FROZEN

    entity_type_id: int
    id: int = Field(gt=0)
    title: str = ""
    assigned_by_id: int | None = None

    @field_validator("assigned_by_id", mode="before")
    @classmethod
    def _nobody_is_none(cls, value: object) -> object:
        return None if value in (None, "", 0, "0", False) else value

    @field_validator("title", mode="before")
    @classmethod
    def _no_title_is_blank(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def ref(self) -> CrmRef:
        return CrmRef(self.entity_type_id, self.id)

    @classmethod
    def from_item(cls, entity_type_id: int, answer: Mapping[str, Any]) -> BoundItem:
        """Build from a ``crm.item`` row (``id``, ``title``, ``assignedById``), or from the
        ``{"item": {...}}`` that ``crm.item.get`` answers. A contact has no title: its
        name and last name stand for it."""
        if isinstance(answer, Mapping) and set(answer) == {"item"}:
            answer = answer["item"]
        if not isinstance(answer, Mapping):
            raise SnapshotError(f"a CRM item must be an object, got {type(answer).__name__}")
        title = answer.get("title")
        if title is None:
            title = " ".join(str(answer[key]) for key in ("name", "lastName") if answer.get(key))
        try:
            item = cls.model_validate({
                "entity_type_id": entity_type_id, "id": answer.get("id"), "title": title,
                "assigned_by_id": answer.get("assignedById"),
            })
        except pydantic.ValidationError as exc:
            reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                for e in exc.errors())
            raise SnapshotError(
                f"CRM item {entity_type_id}/{answer.get('id')!r}: {reasons}") from exc
        CrmRef(entity_type_id, item.id)  # a type no task can be bound to: BindingCodeError
        return item


def bound_responsibles(
    bindings: Iterable[CrmRef], *known: Mapping[CrmRef, HasResponsible]
) -> tuple[tuple[CrmKind, int], ...]:
    """(kind, user) for each bound item whose responsible is known, sorted.

    ``known`` are the fetched items by ref (deals and leads, then the other kinds); an
    item that was not fetched, or has nobody responsible, holds nobody back.
    """
    found = []
    for ref in bindings:
        for items in known:
            item = items.get(ref)
            if item is not None:
                if item.assigned_by_id:
                    found.append((ref.kind, item.assigned_by_id))
                break
    return tuple(sorted(found))

"""CRM binding codes of a task's ``UF_CRM_TASK`` field: ``D_12``, ``L_7``, ``Tb1_4``...

The prefix names the CRM type: ``L`` lead (entityTypeId 1), ``D`` deal (2), ``C``
contact (3), ``CO`` company (4), ``SI`` smart invoice (31), ``T{hex}`` a smart
process whose entityTypeId is written in hexadecimal (``Tb1_4`` is item 4 of type
177). These are the short codes ``crm.enum.ownertype`` lists (``SYMBOL_CODE_SHORT``):
``T`` and hexadecimal is how a *dynamic* type is written, so a T-code of a type that
has its own abbreviation (``T2_5`` for ``D_5``, ``T1f_5`` for ``SI_5``) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mappers.errors import BindingCodeError

LEAD, DEAL, CONTACT, COMPANY, SMART_INVOICE = 1, 2, 3, 4, 31
FIRST_DYNAMIC_TYPE = 128

CrmKind = Literal["lead", "deal", "contact", "company", "dynamic"]

_PREFIX_TO_TYPE = {"L": LEAD, "D": DEAL, "C": CONTACT, "CO": COMPANY, "SI": SMART_INVOICE}
_TYPE_TO_PREFIX = {value: key for key, value in _PREFIX_TO_TYPE.items()}
_KINDS: dict[int, CrmKind] = {LEAD: "lead", DEAL: "deal", CONTACT: "contact", COMPANY: "company"}
# Every type crm.enum.ownertype gives an abbreviation of its own; none of them is a T-code.
# (Old invoices, quotes, requisites and documents cannot be bound to a task here.)
OWN_ABBREVIATIONS: dict[int, str] = {
    **_TYPE_TO_PREFIX, 5: "I", 7: "Q", 8: "RQ", 36: "DO", 39: "SBD",
}

_CODE = re.compile(r"(?:(?P<prefix>CO|SI|L|D|C)|T(?P<hex>[0-9A-Fa-f]{1,8}))_(?P<id>[0-9]{1,18})")


def _is_known_type(entity_type_id: int) -> bool:
    return entity_type_id in _TYPE_TO_PREFIX or entity_type_id >= FIRST_DYNAMIC_TYPE


@dataclass(frozen=True, slots=True, order=True)
class CrmRef:
    """One CRM item a task is bound to."""

    entity_type_id: int
    id: int

    def __post_init__(self) -> None:
        if not _is_known_type(self.entity_type_id):
            raise BindingCodeError(
                f"{self.entity_type_id}_{self.id}",
                f"entityTypeId {self.entity_type_id} cannot be bound to a task",
            )
        if self.id < 1:
            raise BindingCodeError(f"{self.entity_type_id}_{self.id}", "item ID must be positive")

    @property
    def kind(self) -> CrmKind:
        """``lead``, ``deal``, ``contact``, ``company`` or ``dynamic`` (smart processes)."""
        return _KINDS.get(self.entity_type_id, "dynamic")

    @property
    def code(self) -> str:
        """The canonical ``UF_CRM_TASK`` code, e.g. ``D_12`` or ``Tb1_4``."""
        prefix = _TYPE_TO_PREFIX.get(self.entity_type_id)
        if prefix is None:
            prefix = f"T{self.entity_type_id:x}"
        return f"{prefix}_{self.id}"

    def __str__(self) -> str:
        return self.code


def parse_binding(code: str) -> CrmRef:
    """Read one ``UF_CRM_TASK`` code; raise ``BindingCodeError`` naming it when unreadable."""
    if not isinstance(code, str):
        raise BindingCodeError(code, "a binding code must be a string")
    match = _CODE.fullmatch(code.strip())
    if match is None:
        raise BindingCodeError(code, "expected L_, D_, C_, CO_, SI_ or T{hex}_ and an item ID")
    item_id = int(match["id"])
    if match["prefix"] is not None:
        entity_type_id = _PREFIX_TO_TYPE[match["prefix"]]
    else:
        entity_type_id = int(match["hex"], 16)
        own = OWN_ABBREVIATIONS.get(entity_type_id)
        if own is not None:
            raise BindingCodeError(
                code,
                f"entityTypeId {entity_type_id} is written {own}_, not as a T-code "
                "(T and hexadecimal are for smart processes only)",
            )
    if not _is_known_type(entity_type_id):
        raise BindingCodeError(code, f"entityTypeId {entity_type_id} is not a smart process")
    if item_id < 1:
        raise BindingCodeError(code, "item ID must be positive")
    return CrmRef(entity_type_id, item_id)


def parse_bindings(value: object) -> tuple[CrmRef, ...]:
    """Read a ``ufCrmTask`` value: ``false``, ``None`` or ``""`` mean no bindings.

    Lists (or PHP arrays that arrived as dicts) give their codes in order, duplicates
    dropped; a single string is one code.
    """
    if value is None or value is False or value == "":
        return ()
    if isinstance(value, str):
        return (parse_binding(value),)
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, list | tuple):
        raise BindingCodeError(value, "expected a list of codes, false or nothing")
    refs: dict[CrmRef, None] = {}
    for code in value:
        refs.setdefault(parse_binding(code), None)
    return tuple(refs)

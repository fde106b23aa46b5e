"""``crm.deal.userfield.*`` and ``crm.lead.userfield.*``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from emulator import filters
from emulator.errors import InvalidArgument, RestError
from emulator.params import as_dict, pick, require
from emulator.registry import MethodRegistry
from emulator.state import UserField

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_ENTITY = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}


def add_user_field(portal: Portal, entity_id: str, fields: dict[str, Any]) -> UserField:
    """Create a user field; ``FIELD_NAME`` gets the ``UF_CRM_`` prefix."""
    name = str(pick(fields, "FIELD_NAME", default="")).upper()
    if not name:
        raise InvalidArgument("FIELD_NAME is required")
    if not name.startswith("UF_CRM_"):
        name = f"UF_CRM_{name}"
    with portal.state.lock:
        if any(f.entity_id == entity_id and f.field_name == name
               for f in portal.state.user_fields.values()):
            raise RestError("ERROR_CORE", f"A field named {name} already exists", 400)
        field = UserField(
            id=portal.state.next_id("userfield"), entity_id=entity_id, field_name=name,
            user_type_id=str(pick(fields, "USER_TYPE_ID", default="string")),
            multiple="Y" if str(pick(fields, "MULTIPLE", default="N")).upper() == "Y" else "N",
            xml_id=str(pick(fields, "XML_ID", default="") or ""),
            sort=int(pick(fields, "SORT", default=100) or 100),
            label=str(pick(fields, "EDIT_FORM_LABEL", "LABEL", default="") or ""),
        )
        values = pick(fields, "LIST", default=[]) or []
        for index, raw in enumerate(values if isinstance(values, list) else values.values()):
            field.items.append({
                "ID": str(portal.state.next_id("userfield_enum")),
                "SORT": str(pick(raw, "SORT", default=(index + 1) * 10)),
                "VALUE": str(pick(raw, "VALUE", default="")),
                "DEF": str(pick(raw, "DEF", default="N")),
                "XML_ID": str(pick(raw, "XML_ID", default="") or ""),
            })
        portal.state.user_fields[field.id] = field
        return field


def _row(field: UserField) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ID": str(field.id), "ENTITY_ID": field.entity_id, "FIELD_NAME": field.field_name,
        "USER_TYPE_ID": field.user_type_id, "XML_ID": field.xml_id or None,
        "SORT": str(field.sort), "MULTIPLE": field.multiple, "MANDATORY": field.mandatory,
        "SHOW_FILTER": "N", "SHOW_IN_LIST": "Y", "EDIT_IN_LIST": "Y", "IS_SEARCHABLE": "N",
        "SETTINGS": {},
    }
    if field.user_type_id == "enumeration":
        row["LIST"] = [dict(item) for item in field.items]
    return row


def uf_add(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    return add_user_field(portal, _ENTITY[kind], as_dict(require(params, "fields"), "fields")).id


def uf_list(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    conditions = filters.parse(pick(params, "filter"))
    getters = {"ID": lambda f: f.id, "FIELD_NAME": lambda f: f.field_name,
               "USER_TYPE_ID": lambda f: f.user_type_id, "XML_ID": lambda f: f.xml_id}
    with portal.state.lock:
        return [_row(f) for f in sorted(portal.state.user_fields.values(), key=lambda f: f.id)
                if f.entity_id == _ENTITY[kind] and filters.matches(f, conditions, getters)]


def register(registry: MethodRegistry) -> None:
    for kind in ("deal", "lead"):
        registry.method(f"crm.{kind}.userfield.add", "crm")(partial(uf_add, kind))
        registry.method(f"crm.{kind}.userfield.list", "crm")(partial(uf_list, kind))

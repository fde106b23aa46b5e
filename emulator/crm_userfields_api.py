"""``crm.deal.userfield.*`` and ``crm.lead.userfield.*``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from emulator import filters
from emulator.errors import InvalidArgument, RestError
from emulator.params import as_dict, as_int, pick, require
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
            label=_label(pick(fields, "EDIT_FORM_LABEL", "LABEL", default="")),
        )
        for index, raw in enumerate(_list_items(fields)):
            _add_item(portal, field, raw, (index + 1) * 10)
        portal.state.user_fields[field.id] = field
        return field


def update_user_field(portal: Portal, entity_id: str, field_id: int,
                      fields: dict[str, Any]) -> None:
    """Change a field's description; ``LIST`` renames (ID+VALUE), adds (VALUE) or drops
    (ID+DEL=Y) options, leaving unlisted ones as they are."""
    with portal.state.lock:
        field = portal.state.user_fields.get(field_id)
        if field is None:
            raise RestError("ERROR_NOT_FOUND", f"The entity with ID '{field_id}' is not found.")
        if field.entity_id != entity_id:
            raise RestError("ACCESS_DENIED", "Access denied.", 403)
        if field.user_type_id == "enumeration":
            kept = [dict(item) for item in field.items]
            try:
                for raw in _list_items(fields):
                    _change_item(portal, field, raw)
            except RestError:
                field.items = kept  # a refused item leaves the field as it was
                raise
        if (mandatory := pick(fields, "MANDATORY")) is not None:
            field.mandatory = "Y" if str(mandatory).upper() == "Y" else "N"
        if (xml_id := pick(fields, "XML_ID")) is not None:
            field.xml_id = str(xml_id or "")
        if (sort := pick(fields, "SORT")) not in (None, ""):
            field.sort = as_int(sort, "SORT")
        if (label := pick(fields, "EDIT_FORM_LABEL")) is not None:
            field.label = _label(label)


def _change_item(portal: Portal, field: UserField, raw: dict[str, Any]) -> None:
    item_id = str(pick(raw, "ID", default="") or "")
    current = next((i for i in field.items if item_id and i["ID"] == item_id), None)
    if current is None:
        # an unknown or missing ID is a new option, as on a portal
        _add_item(portal, field, raw, 500)
        return
    if str(pick(raw, "DEL", default="N")).upper() == "Y":
        field.items.remove(current)
        return
    for key in ("VALUE", "SORT", "DEF", "XML_ID"):
        value = pick(raw, key)
        if value is not None and (key != "VALUE" or value != ""):
            if key == "XML_ID":
                _refuse_duplicate_xml_id(field, str(value), current)
            current[key] = str(value)


def _add_item(portal: Portal, field: UserField, raw: dict[str, Any], sort: int) -> None:
    value = str(pick(raw, "VALUE", default="") or "")
    if not value:
        return  # options with an empty VALUE are ignored
    xml_id = str(pick(raw, "XML_ID", default="") or "")
    _refuse_duplicate_xml_id(field, xml_id, None)
    field.items.append({
        "ID": str(portal.state.next_id("userfield_enum")),
        "SORT": str(pick(raw, "SORT", default=sort)),
        "VALUE": value,
        "DEF": str(pick(raw, "DEF", default="N")),
        "XML_ID": xml_id,
    })


def _refuse_duplicate_xml_id(field: UserField, xml_id: str,
                             own: dict[str, str] | None) -> None:
    if xml_id and any(i["XML_ID"] == xml_id and i is not own for i in field.items):
        raise RestError("ERROR_CORE",
                        f"List element with value XML_ID='{xml_id}' already exists")


def _list_items(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """``LIST`` as a list of dicts, whether sent as JSON or as PHP form keys."""
    values = pick(fields, "LIST", default=[]) or []
    values = values if isinstance(values, list) else list(values.values())
    return [v for v in values if isinstance(v, dict)]


def _label(value: Any) -> str:
    """A label given as a string or as a language map ({"en": ...})."""
    if isinstance(value, dict):
        return str(value.get("en") or next(iter(value.values()), "") or "")
    return str(value or "")


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


def uf_update(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    try:
        field_id = int(pick(params, "id"))
    except (TypeError, ValueError):
        field_id = 0
    if field_id <= 0:
        raise RestError("", "ID is not defined or invalid")
    fields = pick(params, "fields")
    if not isinstance(fields, dict):
        raise RestError("", "Parameter 'fields' must be array")
    update_user_field(portal, _ENTITY[kind], field_id, fields)
    return True


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
        registry.method(f"crm.{kind}.userfield.update", "crm")(partial(uf_update, kind))
        registry.method(f"crm.{kind}.userfield.list", "crm")(partial(uf_list, kind))

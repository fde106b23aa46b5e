"""``crm.item.*`` for leads (entityTypeId 1), deals (2), contacts (3), companies (4) and
the portal's smart processes (128 and up), camelCase in and out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulator import crm_fields, filters
from emulator.errors import RestError
from emulator.params import as_dict, as_int, page, pick, require, sort_by_order, start_of
from emulator.registry import MethodRegistry, Paged

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_KINDS = {1: "lead", 2: "deal"}
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_RENAMED = {"CREATED_BY": "CREATED_BY_ID", "UPDATED_BY": "MODIFY_BY_ID",
            "CREATED_TIME": "DATE_CREATE", "UPDATED_TIME": "DATE_MODIFY"}


def upper(name: str) -> str:
    """``stageId`` -> ``STAGE_ID`` (operator prefixes kept)."""
    op, bare = filters.split_operator(name)
    converted = _CAMEL_BREAK.sub("_", bare).upper()
    return op + _RENAMED.get(converted, converted)


def _entity_type(params: dict[str, Any]) -> int:
    return as_int(require(params, "entityTypeId"), "entityTypeId")


def _kind(params: dict[str, Any]) -> str:
    entity_type = _entity_type(params)
    if entity_type not in _KINDS:
        raise RestError("NOT_FOUND", f"Smart process {entity_type} not found", 400)
    return _KINDS[entity_type]


def _other_type(portal: Portal, params: dict[str, Any]) -> int | None:
    """The entityTypeId when it is a contact, company or smart process; None for 1 and 2."""
    entity_type = _entity_type(params)
    if entity_type in _KINDS:
        return None
    portal.crm_items.items(entity_type)  # NOT_FOUND for a type the portal lacks
    return entity_type


def _find(portal: Portal, kind: str, item_id: Any) -> Any:
    return portal.crm.deal(item_id) if kind == "deal" else portal.crm.lead(item_id)


def item_get(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    other = _other_type(portal, params)
    if other is not None:
        with portal.state.lock:
            return {"item": portal.crm_items.render(
                portal.crm_items.get(other, require(params, "id")))}
    kind = _kind(params)
    with portal.state.lock:
        return {"item": crm_fields.render_item(portal, _find(portal, kind, require(params, "id")))}


def item_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    raw_filter = as_dict(pick(params, "filter"), "filter")
    conditions = filters.parse({upper(k): v for k, v in raw_filter.items()})
    other = _other_type(portal, params)
    if other is not None:
        return _other_list(portal, other, conditions, params)
    kind = _kind(params)
    store = portal.state.deals if kind == "deal" else portal.state.leads

    def value(name: str) -> Any:
        return lambda i: crm_fields.render_upper(portal, i, None).get(name)

    with portal.state.lock:
        rows = [i for i in store.values()
                if all(filters.matches(i, [c], {c.field: value(c.field)}) for c in conditions)]
        order = {upper(k): v for k, v in as_dict(pick(params, "order"), "order").items()}
        getters = {"ID": lambda i: i.id, **{k: value(k) for k in order}}
        chunk, total, following = page(sort_by_order(rows, order, getters), start_of(params))
        rendered = [_select(crm_fields.render_item(portal, i), pick(params, "select"))
                    for i in chunk]
    return Paged({"items": rendered}, total, following)


def _other_list(portal: Portal, entity_type: int, conditions: list[filters.Condition],
                params: dict[str, Any]) -> Paged:
    """Contacts, companies, smart-process items: filtered and ordered on their rows'
    fields (``id``, ``@id``, ``assignedById``, ``updatedTime``...)."""
    def value(name: str) -> Any:
        return lambda row: {upper(k): v for k, v in row.items()}.get(name)

    with portal.state.lock:
        rows = [portal.crm_items.render(i) for i in portal.crm_items.items(entity_type)]
    rows = [r for r in rows
            if all(filters.matches(r, [c], {c.field: value(c.field)}) for c in conditions)]
    order = {upper(k): v for k, v in as_dict(pick(params, "order"), "order").items()}
    getters = {"ID": lambda r: r["id"], **{k: value(k) for k in order}}
    chunk, total, following = page(sort_by_order(rows, order, getters), start_of(params))
    return Paged({"items": [_select(r, pick(params, "select")) for r in chunk]}, total,
                 following)


def _select(row: dict[str, Any], select: Any) -> dict[str, Any]:
    if not isinstance(select, list) or not select or "*" in select:
        return row
    wanted = {str(s) for s in select} | {"id"}
    return {k: v for k, v in row.items() if k in wanted}


def item_add(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    other = _other_type(portal, params)
    if other is not None:
        item = portal.crm_items.add(ctx.change(), other,
                                    as_dict(require(params, "fields"), "fields"))
        with portal.state.lock:
            return {"item": portal.crm_items.render(item)}
    kind = _kind(params)
    fields = {upper(k): v for k, v in as_dict(require(params, "fields"), "fields").items()}
    adder = portal.crm.add_deal if kind == "deal" else portal.crm.add_lead
    item = adder(ctx.change(), fields)
    with portal.state.lock:
        return {"item": crm_fields.render_item(portal, item)}


def item_update(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    other = _other_type(portal, params)
    if other is not None:
        item = portal.crm_items.update(ctx.change(), other, require(params, "id"),
                                       as_dict(require(params, "fields"), "fields"))
        with portal.state.lock:
            return {"item": portal.crm_items.render(item)}
    kind = _kind(params)
    fields = {upper(k): v for k, v in as_dict(require(params, "fields"), "fields").items()}
    updater = portal.crm.update_deal if kind == "deal" else portal.crm.update_lead
    item = updater(ctx.change(), require(params, "id"), fields)
    with portal.state.lock:
        return {"item": crm_fields.render_item(portal, item)}


def item_delete(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    other = _other_type(portal, params)
    if other is not None:
        portal.crm_items.delete(ctx.change(), other, require(params, "id"))
        return []
    kind = _kind(params)
    deleter = portal.crm.delete_deal if kind == "deal" else portal.crm.delete_lead
    deleter(ctx.change(), require(params, "id"))
    return []


def register(registry: MethodRegistry) -> None:
    for verb, handler in (("get", item_get), ("list", item_list), ("add", item_add),
                          ("update", item_update), ("delete", item_delete)):
        registry.method(f"crm.item.{verb}", "crm")(handler)

"""``crm.deal.*``, ``crm.lead.*``, ``crm.status.list``, ``crm.category.list``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from emulator import crm_fields, filters
from emulator.params import as_dict, page, pick, require, sort_by_order, start_of
from emulator.registry import MethodRegistry, Paged
from emulator.state import Deal, Lead

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

_DATES = frozenset({"DATE_CREATE", "DATE_MODIFY"})


def _getters(portal: Portal, kind: str) -> dict[str, Any]:
    def value(name: str) -> Any:
        return lambda item: crm_fields.render_upper(portal, item, None).get(name)

    common = {"ID": lambda i: i.id, "TITLE": lambda i: i.title,
              "ASSIGNED_BY_ID": lambda i: i.assigned_by_id,
              "DATE_CREATE": lambda i: i.date_create, "DATE_MODIFY": lambda i: i.date_modify}
    names = (("CATEGORY_ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "CLOSED") if kind == "deal"
             else ("STATUS_ID", "STATUS_SEMANTIC_ID"))
    extra = {n: value(n) for n in names}
    with portal.state.lock:
        entity = "CRM_DEAL" if kind == "deal" else "CRM_LEAD"
        uf = {f.field_name: (lambda i, n=f.field_name: i.user_fields.get(n))
              for f in portal.state.user_fields.values() if f.entity_id == entity}
    return {**common, **extra, **uf}


def _store(portal: Portal, kind: str) -> dict[int, Deal | Lead]:
    return portal.state.deals if kind == "deal" else portal.state.leads


def crm_add(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(require(params, "fields"), "fields")
    adder = portal.crm.add_deal if kind == "deal" else portal.crm.add_lead
    return adder(ctx.change(), fields).id


def crm_update(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    fields = as_dict(require(params, "fields"), "fields")
    updater = portal.crm.update_deal if kind == "deal" else portal.crm.update_lead
    updater(ctx.change(), require(params, "id"), fields)
    return True


def crm_get(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    finder = portal.crm.deal if kind == "deal" else portal.crm.lead
    with portal.state.lock:
        return crm_fields.render_upper(portal, finder(require(params, "id")), None)


def crm_delete(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    deleter = portal.crm.delete_deal if kind == "deal" else portal.crm.delete_lead
    deleter(ctx.change(), require(params, "id"))
    return True


def crm_list(kind: str, portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Paged:
    conditions = filters.parse(pick(params, "filter"))
    getters = _getters(portal, kind)
    with portal.state.lock:
        items = [i for i in _store(portal, kind).values()
                 if filters.matches(i, conditions, getters, _DATES)]
        ordered = sort_by_order(items, pick(params, "order"), getters)
        chunk, total, following = page(ordered, start_of(params))
        select = pick(params, "select", default=[])
        rows = [crm_fields.render_upper(portal, i, select) for i in chunk]
    return Paged(rows, total, following)


def status_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    conditions = filters.parse(pick(params, "filter"))
    getters = {"ID": lambda s: s.id, "ENTITY_ID": lambda s: s.entity_id,
               "STATUS_ID": lambda s: s.status_id, "CATEGORY_ID": lambda s: s.category_id,
               "SEMANTICS": lambda s: s.semantics, "SORT": lambda s: s.sort}
    with portal.state.lock:
        stages = [s for s in portal.state.stages if filters.matches(s, conditions, getters)]
    order = pick(params, "order") or {"SORT": "ASC"}
    return [
        {"ID": str(s.id), "ENTITY_ID": s.entity_id, "STATUS_ID": s.status_id, "NAME": s.name,
         "NAME_INIT": s.name, "SORT": str(s.sort), "SYSTEM": "Y", "COLOR": "#39A8EF",
         "SEMANTICS": s.semantics,
         "CATEGORY_ID": None if s.category_id is None else str(s.category_id),
         "EXTRA": {"SEMANTICS": {"S": "success", "F": "failure"}.get(s.semantics or "",
                                                                      "process"),
                   "COLOR": "#39A8EF"}}
        for s in sort_by_order(stages, order, getters)
    ]


def category_list(portal: Portal, ctx: CallContext, params: dict[str, Any]) -> Any:
    entity_type = int(require(params, "entityTypeId"))
    with portal.state.lock:
        categories = sorted(portal.state.categories.values(), key=lambda c: (c.sort, c.id))
    if entity_type != 2:
        categories = []
    return {"categories": [
        {"id": c.id, "name": c.name, "sort": c.sort, "entityTypeId": 2,
         "isDefault": "Y" if c.is_default else "N"} for c in categories
    ]}


def register(registry: MethodRegistry) -> None:
    for kind in ("deal", "lead"):
        for verb, handler in (("add", crm_add), ("update", crm_update), ("get", crm_get),
                              ("list", crm_list), ("delete", crm_delete)):
            registry.method(f"crm.{kind}.{verb}", "crm")(partial(handler, kind))
    registry.method("crm.status.list", "crm")(status_list)
    registry.method("crm.category.list", "crm")(category_list)

"""Deals and leads as the portal shows them: UPPER_CASE strings, or camelCase for crm.item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import crm_catalog
from emulator.state import Deal, Lead

if TYPE_CHECKING:
    from emulator.portal import Portal


def _upper_values(portal: Portal, item: Deal | Lead) -> dict[str, Any]:
    iso = portal.clock.iso
    common = {
        "ID": str(item.id), "TITLE": item.title,
        "ASSIGNED_BY_ID": str(item.assigned_by_id), "CREATED_BY_ID": str(item.created_by),
        "MODIFY_BY_ID": str(item.modify_by), "DATE_CREATE": iso(item.date_create),
        "DATE_MODIFY": iso(item.date_modify), "OPENED": "Y", "COMMENTS": None,
    }
    if isinstance(item, Deal):
        stage = crm_catalog.deal_stage(portal.state, item.stage_id)
        semantic = crm_catalog.semantic_id(stage.semantics)
        common.update({
            "TYPE_ID": "SALE", "CATEGORY_ID": str(item.category_id), "STAGE_ID": item.stage_id,
            "STAGE_SEMANTIC_ID": semantic, "CLOSED": "N" if semantic == "P" else "Y",
            "OPPORTUNITY": item.opportunity, "CURRENCY_ID": item.currency_id,
            "PROBABILITY": None, "LEAD_ID": None, "COMPANY_ID": "0", "CONTACT_ID": None,
            "IS_NEW": "Y" if item.stage_id.endswith("NEW") else "N",
        })
    else:
        status = crm_catalog.lead_status(portal.state, item.status_id)
        common.update({
            "NAME": item.name, "STATUS_ID": item.status_id,
            "STATUS_SEMANTIC_ID": crm_catalog.semantic_id(status.semantics),
            "STATUS_DESCRIPTION": None, "SOURCE_ID": "CALL", "COMPANY_ID": None,
            "CONTACT_ID": None, "IS_RETURN_CUSTOMER": "N",
        })
    return common


def _user_field_values(portal: Portal, item: Deal | Lead) -> dict[str, Any]:
    entity = "CRM_DEAL" if isinstance(item, Deal) else "CRM_LEAD"
    values = {}
    for field in portal.state.user_fields.values():
        if field.entity_id == entity:
            value = item.user_fields.get(field.field_name)
            if field.multiple == "Y":
                values[field.field_name] = [str(v) for v in value or []] if isinstance(
                    value, list) else ([str(value)] if value not in (None, "") else [])
            else:
                values[field.field_name] = None if value in (None, "") else str(value)
    return values


def render_upper(portal: Portal, item: Deal | Lead, select: Any = None) -> dict[str, Any]:
    """crm.deal.get/list row; user fields only when selected (``UF_*`` or by name)."""
    base = _upper_values(portal, item)
    user_fields = _user_field_values(portal, item)
    if select in (None, "", []):
        return {**base, **user_fields} if select is None else base
    names = [str(s).upper() for s in (select if isinstance(select, list) else [select])]
    row: dict[str, Any] = {}
    if "*" in names:
        row.update(base)
    if "UF_*" in names:
        row.update(user_fields)
    for name in names:
        if name in base:
            row[name] = base[name]
        elif name in user_fields:
            row[name] = user_fields[name]
    row.setdefault("ID", base["ID"])
    return row


def camel(name: str) -> str:
    """``UF_CRM_TASKBRIDGE_STATUS`` -> ``ufCrmTaskbridgeStatus``."""
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


_INTS = {"ID", "ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "CATEGORY_ID", "COMPANY_ID",
         "CONTACT_ID", "LEAD_ID"}
_RENAMED = {"CREATED_BY_ID": "createdBy", "MODIFY_BY_ID": "updatedBy",
            "DATE_CREATE": "createdTime", "DATE_MODIFY": "updatedTime"}


def render_item(portal: Portal, item: Deal | Lead) -> dict[str, Any]:
    """crm.item.get/list row: camelCase keys, integer ids."""
    row: dict[str, Any] = {}
    for key, value in {**_upper_values(portal, item), **_user_field_values(portal, item)}.items():
        name = _RENAMED.get(key) or camel(key)
        if key in _INTS and value not in (None, ""):
            value = int(value)
        row[name] = value
    if isinstance(item, Deal):
        row["entityTypeId"] = 2
    else:
        row["entityTypeId"] = 1
    return row

"""Changes to deals and leads (stages, funnels, user fields), each with its CRM event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import crm_catalog
from emulator.context import Change
from emulator.errors import InvalidArgument, RestError
from emulator.state import Deal, Lead

if TYPE_CHECKING:
    from emulator.portal import Portal


class CrmNotFound(RestError):
    def __init__(self, kind: str, item_id: Any) -> None:
        super().__init__("", f"{kind} not found (ID = {item_id})", 400)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name} is not an integer") from exc


class CrmService:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.state = portal.state

    # deals ------------------------------------------------------------------
    def deal(self, deal_id: Any) -> Deal:
        deal = self.state.deals.get(_int(deal_id, "ID"))
        if deal is None:
            raise CrmNotFound("Deal", deal_id)
        return deal

    def add_deal(self, change: Change, fields: dict[str, Any]) -> Deal:
        now = self.portal.clock.now()
        with self.state.lock:
            category_id = _int(fields.get("CATEGORY_ID", 0) or 0, "CATEGORY_ID")
            stage_id = str(fields.get("STAGE_ID") or crm_catalog.first_deal_stage(
                self.state, category_id))
            self._check_stage_in_category(stage_id, category_id)
            deal = Deal(
                id=self.state.next_id("deal"), title=str(fields.get("TITLE") or ""),
                category_id=category_id, stage_id=stage_id,
                assigned_by_id=_int(fields.get("ASSIGNED_BY_ID") or change.actor_id,
                                    "ASSIGNED_BY_ID"),
                created_by=change.actor_id, date_create=now, date_modify=now,
                modify_by=change.actor_id,
            )
            if not deal.title:
                deal.title = f"Deal #{deal.id}"
            self._apply_common(deal, fields, "CRM_DEAL")
            self.state.deals[deal.id] = deal
        self._emit("ONCRMDEALADD", deal.id, change, "deal")
        self.portal.automation.stage_entered("deal", deal.id, deal.stage_id)
        return deal

    def update_deal(self, change: Change, deal_id: Any, fields: dict[str, Any]) -> Deal:
        """Update fields; a new CATEGORY_ID moves funnels and fires only MOVETOCATEGORY."""
        with self.state.lock:
            deal = self.deal(deal_id)
            stage_before = deal.stage_id
            moved = False
            if "CATEGORY_ID" in fields and _int(fields["CATEGORY_ID"], "CATEGORY_ID") != (
                deal.category_id
            ):
                deal.category_id = _int(fields["CATEGORY_ID"], "CATEGORY_ID")
                deal.stage_id = str(fields.get("STAGE_ID") or crm_catalog.first_deal_stage(
                    self.state, deal.category_id))
                moved = True
            elif fields.get("STAGE_ID"):
                self._check_stage_in_category(str(fields["STAGE_ID"]), deal.category_id)
                deal.stage_id = str(fields["STAGE_ID"])
            if fields.get("TITLE"):
                deal.title = str(fields["TITLE"])
            if fields.get("ASSIGNED_BY_ID"):
                deal.assigned_by_id = _int(fields["ASSIGNED_BY_ID"], "ASSIGNED_BY_ID")
            self._apply_common(deal, fields, "CRM_DEAL")
            deal.date_modify, deal.modify_by = self.portal.clock.now(), change.actor_id
        event = "ONCRMDEALMOVETOCATEGORY" if moved else "ONCRMDEALUPDATE"
        self._emit(event, deal.id, change, "deal")
        if deal.stage_id != stage_before:
            self.portal.automation.stage_entered("deal", deal.id, deal.stage_id)
        return deal

    def delete_deal(self, change: Change, deal_id: Any) -> None:
        with self.state.lock:
            deal = self.deal(deal_id)
            del self.state.deals[deal.id]
        self._emit("ONCRMDEALDELETE", deal.id, change, "deal")

    def _check_stage_in_category(self, stage_id: str, category_id: int) -> None:
        stage = crm_catalog.deal_stage(self.state, stage_id)
        if (stage.category_id or 0) != category_id:
            raise InvalidArgument(f"Stage {stage_id} is not in category {category_id}")

    # leads ------------------------------------------------------------------
    def lead(self, lead_id: Any) -> Lead:
        lead = self.state.leads.get(_int(lead_id, "ID"))
        if lead is None:
            raise CrmNotFound("Lead", lead_id)
        return lead

    def add_lead(self, change: Change, fields: dict[str, Any]) -> Lead:
        now = self.portal.clock.now()
        with self.state.lock:
            status_id = str(fields.get("STATUS_ID") or "NEW")
            crm_catalog.lead_status(self.state, status_id)
            lead = Lead(
                id=self.state.next_id("lead"), title=str(fields.get("TITLE") or ""),
                status_id=status_id, name=str(fields.get("NAME") or ""),
                assigned_by_id=_int(fields.get("ASSIGNED_BY_ID") or change.actor_id,
                                    "ASSIGNED_BY_ID"),
                created_by=change.actor_id, date_create=now, date_modify=now,
                modify_by=change.actor_id,
            )
            if not lead.title:
                lead.title = f"Lead #{lead.id}"
            self._apply_common(lead, fields, "CRM_LEAD")
            self.state.leads[lead.id] = lead
        self._emit("ONCRMLEADADD", lead.id, change, "lead")
        self.portal.automation.stage_entered("lead", lead.id, lead.status_id)
        return lead

    def update_lead(self, change: Change, lead_id: Any, fields: dict[str, Any]) -> Lead:
        with self.state.lock:
            lead = self.lead(lead_id)
            status_before = lead.status_id
            if fields.get("STATUS_ID"):
                crm_catalog.lead_status(self.state, str(fields["STATUS_ID"]))
                lead.status_id = str(fields["STATUS_ID"])
            for key, attribute in (("TITLE", "title"), ("NAME", "name")):
                if fields.get(key):
                    setattr(lead, attribute, str(fields[key]))
            if fields.get("ASSIGNED_BY_ID"):
                lead.assigned_by_id = _int(fields["ASSIGNED_BY_ID"], "ASSIGNED_BY_ID")
            self._apply_common(lead, fields, "CRM_LEAD")
            lead.date_modify, lead.modify_by = self.portal.clock.now(), change.actor_id
        self._emit("ONCRMLEADUPDATE", lead.id, change, "lead")
        if lead.status_id != status_before:
            self.portal.automation.stage_entered("lead", lead.id, lead.status_id)
        return lead

    def delete_lead(self, change: Change, lead_id: Any) -> None:
        with self.state.lock:
            lead = self.lead(lead_id)
            del self.state.leads[lead.id]
        self._emit("ONCRMLEADDELETE", lead.id, change, "lead")

    # shared -----------------------------------------------------------------
    def _apply_common(self, item: Deal | Lead, fields: dict[str, Any], entity: str) -> None:
        known = {f.field_name for f in self.state.user_fields.values() if f.entity_id == entity}
        for key, value in fields.items():
            name = str(key).upper()
            if name in known:
                item.user_fields[name] = value
        if isinstance(item, Deal):
            if "OPPORTUNITY" in fields:
                item.opportunity = f"{float(fields['OPPORTUNITY'] or 0):.2f}"
            if fields.get("CURRENCY_ID"):
                item.currency_id = str(fields["CURRENCY_ID"])

    def _emit(self, event: str, item_id: int, change: Change, kind: str) -> None:
        self.portal.events.emit(event, {"FIELDS": {"ID": str(item_id)}}, change,
                                f"{kind}:{item_id}")

"""Configurable activities, and what a CRM kanban card shows (title, stage, badge, fields).

Contract (issue 15; other code builds on these names, keep them stable)
-----------------------------------------------------------------------
REST (``emulator.activities_api``), scope ``crm``:

- ``crm.activity.badge.add`` (``code``, ``title``, ``value``: a string or ``{lang: text}``,
  ``type``: success|failure|warning|primary|secondary) -> ``{"badge": {code, title, value,
  type}}`` (title/value as given); portal administrators only (403 ``ACCESS_DENIED``),
  webhooks too; a missing field is ``REQUIRED_ARG_MISSING``, an unknown type
  ``INVALID_ARG_VALUE``, a code already taken ``ERROR_BADGE_ALREADY_EXISTS``.
  ``.get`` (``code``) -> ``{"badge": {...}}`` or ``NOT_FOUND``; ``.list`` ->
  ``{"badges": [...]}`` (any user); ``.delete`` (``code``) -> ``true`` (administrators).
- ``crm.activity.configurable.add`` (``ownerTypeId``, ``ownerId``, ``fields``, ``layout``)
  -> ``{"activity": {"id": N}}``; ``.update`` (``id``, ``fields``, ``layout``) -> the same;
  ``.get`` (``id``) -> ``{"activity": {id, ownerTypeId, ownerId, fields{typeId,
  completed, deadline, pingOffsets, isIncomingChannel, responsibleId, badgeCode,
  originatorId, originId}, layout}}``. App context only: a webhook gets 400
  ``ERROR_WRONG_CONTEXT``; update by another app 400 ``ERROR_WRONG_APPLICATION``; a
  missing owner or activity ``NOT_FOUND``; ``fields`` missing ``100``; a bad field value
  (unknown ``badgeCode`` or ``typeId``, a date that is not one) ``WRONG_FIELD_VALUE``;
  an incoming activity with a deadline ``INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE``;
  layout errors as ``emulator.activity_layout`` lists (``ERROR_EMPTY_LAYOUT``...).
  On update, the fields given replace those kept, the layout replaces the old one.
- ``crm.activity.delete`` (``id``): a configurable activity, by its own app only
  (webhook: 400 ``ERROR_WRONG_CONTEXT``; another app ``ERROR_WRONG_APPLICATION``).
  ``crm.activity.list`` (``filter``: ``ID``, ``OWNER_TYPE_ID``, ``OWNER_ID``,
  ``PROVIDER_ID``, ``COMPLETED``; pages of 50) lists configurable activities
  (``PROVIDER_ID`` ``CONFIGURABLE_REST_APP``), the only kind the emulator keeps.
- ``crm.timeline.logmessage.add/get/list/delete`` (``emulator.timeline_api``): delete by
  the app that added the entry only (``REMOVING_DISABLED``), ``NOT_FOUND`` otherwise.

Python (``Portal``):

- ``portal.kanban_card(entity, item_id, lang=None)`` -> ``{"title", "stage_id",
  "stage_name", "badge": {"code", "type", "title", "value"} | None, "fields": {name:
  value}, "labels": {name: the field's label}, "overdue_activities": int}``.
  ``entity`` is ``"deal"`` or ``"lead"``. The badge is the one most recently bound
  (``add`` or an ``update`` carrying a ``badgeCode``) among the item's *open*
  configurable activities whose badge still exists; title and value in ``lang``
  (default the portal's language), else English, else the first entry. Fields are
  those set with ``set_kanban_card_fields``, shown as the card shows them (an
  enumeration's label, a list joined with ", ", "" if empty).
  ``overdue_activities`` counts open activities past their deadline; one without a
  deadline never counts.
- ``portal.set_kanban_card_fields(entity, [field names])``: the card settings (a UI
  setting; no REST method changes it). ``portal.kanban_card_fields(entity)`` reads it.
- ``portal.configurable_activities(entity, item_id)`` -> the item's activities, oldest
  first, as ``crm.activity.configurable.get`` shows them plus ``clientId``.
- ``render_kanban_card(card) -> str``: the card as boxed text, e.g.::

      +------------------------------+
      | Website redesign             |
      | Stage: In progress           |
      | [OVERDUE] Task status  (red) |
      | Task status: Overdue         |
      +------------------------------+

HTTP control API: ``GET /_emulator/kanban/{entity}/{id}[?lang=xx]`` -> the card,
``GET /_emulator/kanban/{entity}/{id}/text`` -> ``{"text": render_kanban_card(card)}``,
``GET /_emulator/kanban/{entity}/{id}/activities`` -> the activities,
``POST /_emulator/kanban/{entity}/fields`` ``{"fields": [...]}`` and ``GET`` the same path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulator import crm_catalog
from emulator.activity_layout import LayoutChecker, pick_language
from emulator.clock import parse_datetime
from emulator.errors import RestError
from emulator.state import ConfigurableActivity, Deal, Lead

if TYPE_CHECKING:
    from emulator.context import CallContext
    from emulator.portal import Portal

ENTITY_TYPES = {"lead": 1, "deal": 2, "contact": 3, "company": 4}
BADGE_COLOURS = {"success": "green", "failure": "red", "warning": "yellow",
                 "primary": "blue", "secondary": "grey"}
CONFIGURABLE = "CONFIGURABLE"
_INTEGER = re.compile(r"-?[0-9]+")  # not str.isdigit: "²" is a digit to it
_LAST_DATE = 253402300799  # 9999-12-31T23:59:59Z
_FIELDS = ("typeId", "completed", "deadline", "pingOffsets", "isIncomingChannel",
           "responsibleId", "badgeCode", "originatorId", "originId")


def _wrong(name: str, text: str) -> RestError:
    return RestError("WRONG_FIELD_VALUE", f"fields.{name}: {text}", 400)


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("y", "1", "true"):
        return True
    if text in ("n", "0", "false", ""):
        return False
    raise _wrong(name, "must be Y/N, 1/0 or true/false")


class KanbanService:
    """Configurable activities and kanban cards of one portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    # owners -------------------------------------------------------------------
    def owner_exists(self, owner_type_id: int, owner_id: int) -> bool:
        state = self.portal.state
        if owner_type_id == 1:
            return owner_id in state.leads
        if owner_type_id == 2:
            return owner_id in state.deals
        return owner_id in state.crm_items.get(owner_type_id, {})

    def item(self, entity: str, item_id: int) -> Deal | Lead:
        if entity == "deal":
            return self.portal.crm.deal(item_id)
        if entity == "lead":
            return self.portal.crm.lead(item_id)
        raise ValueError(f"kanban cards are modelled for deals and leads, not {entity!r}")

    # activities -----------------------------------------------------------------
    def add(self, ctx: CallContext, owner_type_id: int, owner_id: int,
            fields: dict[str, Any], layout: Any) -> ConfigurableActivity:
        portal = self.portal
        with portal.state.lock:
            if not self.owner_exists(owner_type_id, owner_id):
                raise RestError("NOT_FOUND", "Not found.", 400)
            values = self._fields(ctx, fields, {
                "typeId": CONFIGURABLE, "completed": False, "deadline": None,
                "pingOffsets": [], "isIncomingChannel": False, "responsibleId": ctx.user_id,
                "badgeCode": "", "originatorId": None, "originId": None})
            checked = LayoutChecker(portal.languages).check(layout)
            now = portal.clock.now()
            activity = ConfigurableActivity(
                id=portal.state.next_id("activity"), client_id=str(ctx.client_id),
                owner_type_id=owner_type_id, owner_id=owner_id, fields=values,
                layout=checked, created=now, updated=now, author_id=ctx.user_id)
            if values["badgeCode"]:
                activity.badge_order = portal.state.next_id("badge_binding")
            portal.state.activities[activity.id] = activity
            return activity

    def update(self, ctx: CallContext, activity_id: int, fields: dict[str, Any],
               layout: Any) -> ConfigurableActivity:
        portal = self.portal
        with portal.state.lock:
            activity = self.require(activity_id)
            self.check_owner_app(ctx, activity)
            values = self._fields(ctx, fields, dict(activity.fields))
            activity.layout = LayoutChecker(portal.languages).check(layout)
            activity.fields = values
            activity.updated = portal.clock.now()
            if any(str(k) == "badgeCode" for k in fields) and values["badgeCode"]:
                activity.badge_order = portal.state.next_id("badge_binding")
            return activity

    def delete(self, ctx: CallContext, activity_id: int) -> None:
        with self.portal.state.lock:
            activity = self.portal.state.activities.get(activity_id)
            if activity is None:
                raise RestError("", "Activity is not found", 400)
            self.check_owner_app(ctx, activity)
            del self.portal.state.activities[activity.id]

    def require(self, activity_id: int) -> ConfigurableActivity:
        activity = self.portal.state.activities.get(activity_id)
        if activity is None:
            raise RestError("NOT_FOUND", "Not found.", 400)
        return activity

    @staticmethod
    def check_owner_app(ctx: CallContext, activity: ConfigurableActivity) -> None:
        if not ctx.is_app:
            raise RestError("ERROR_WRONG_CONTEXT", "Application context required", 400)
        if ctx.client_id != activity.client_id:
            raise RestError("ERROR_WRONG_APPLICATION",
                            "The activity can only be changed by the application that "
                            "created it", 400)

    def _fields(self, ctx: CallContext, raw: dict[str, Any], values: dict[str, Any],
                ) -> dict[str, Any]:
        given = {str(k): v for k, v in raw.items() if str(k) in _FIELDS}
        portal = self.portal
        if "typeId" in given:
            if str(given["typeId"] or CONFIGURABLE) != CONFIGURABLE:
                raise _wrong("typeId", f"type {given['typeId']!r} is not registered by "
                             "this application")
            values["typeId"] = CONFIGURABLE
        for name in ("completed", "isIncomingChannel"):
            if name in given:
                values[name] = _flag(given[name], name)
        if "deadline" in given:
            raw = given["deadline"]
            deadline = None if isinstance(raw, bool | list | dict) else parse_datetime(raw)
            if (deadline is None and raw not in (None, "", False)) or not (
                    deadline is None or 0 <= deadline <= _LAST_DATE):
                raise _wrong("deadline", f"{raw!r} is not a date")
            values["deadline"] = deadline
        if "pingOffsets" in given:
            offsets = given["pingOffsets"] or []
            if isinstance(offsets, dict):
                offsets = list(offsets.values())
            if not isinstance(offsets, list) or not all(
                    _INTEGER.fullmatch(str(o)) for o in offsets):
                raise _wrong("pingOffsets", "must be a list of minutes")
            values["pingOffsets"] = [int(o) for o in offsets]
        if "responsibleId" in given:
            if not _INTEGER.fullmatch(str(given["responsibleId"])) or int(
                    given["responsibleId"]) not in portal.state.users:
                raise _wrong("responsibleId", f"user {given['responsibleId']!r} not found")
            values["responsibleId"] = int(given["responsibleId"])
        if "badgeCode" in given:
            code = str(given["badgeCode"] or "")
            if code and code not in portal.state.badges:
                raise _wrong("badgeCode", f"badge {code!r} not found")
            values["badgeCode"] = code
        for name in ("originatorId", "originId"):
            if name in given:
                values[name] = None if given[name] in (None, "") else str(given[name])
        if values["isIncomingChannel"] and values["deadline"] is not None:
            raise RestError("INCOMING_ACTIVITY_CAN_NOT_BE_WITH_DEADLINE",
                            "Incoming activity can not be with deadline", 400)
        return values

    def render(self, activity: ConfigurableActivity) -> dict[str, Any]:
        """``crm.activity.configurable.get``'s ``activity``."""
        values = dict(activity.fields)
        deadline = values["deadline"]
        values["deadline"] = None if deadline is None else self.portal.clock.iso(deadline)
        values["pingOffsets"] = list(values["pingOffsets"])
        return {"id": activity.id, "ownerTypeId": activity.owner_type_id,
                "ownerId": activity.owner_id, "fields": values, "layout": activity.layout}

    def of_item(self, entity: str | int, item_id: int) -> list[ConfigurableActivity]:
        """``entity``: ``"deal"``, ``"lead"``, ``"contact"``, ``"company"`` or a type id."""
        if isinstance(entity, int):
            owner_type_id = entity
        elif entity in ENTITY_TYPES:
            owner_type_id = ENTITY_TYPES[entity]
        else:
            raise ValueError(f"unknown CRM entity {entity!r}")
        return sorted((a for a in self.portal.state.activities.values()
                       if (a.owner_type_id, a.owner_id) == (owner_type_id, item_id)),
                      key=lambda a: a.id)

    # kanban card ------------------------------------------------------------------
    def set_card_fields(self, entity: str, names: list[str]) -> list[str]:
        prefix = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}.get(entity)
        if prefix is None:
            raise ValueError(f"kanban cards are modelled for deals and leads, not {entity!r}")
        known = {f.field_name for f in self.portal.state.user_fields.values()
                 if f.entity_id == prefix} | {"OPPORTUNITY", "ASSIGNED_BY_ID", "DATE_CREATE"}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown {entity} fields: {', '.join(unknown)}")
        with self.portal.state.lock:
            self.portal.state.kanban_fields[entity] = list(names)
        return list(names)

    def card(self, entity: str, item_id: int, lang: str | None = None) -> dict[str, Any]:
        portal = self.portal
        lang = lang or portal.language
        with portal.state.lock:
            item = self.item(entity, item_id)
            if isinstance(item, Deal):
                stage = crm_catalog.deal_stage(portal.state, item.stage_id)
            else:
                stage = crm_catalog.lead_status(portal.state, item.status_id)
            activities = self.of_item(entity, item.id)
            open_ones = [a for a in activities if not a.fields["completed"]]
            shown = [a for a in open_ones
                     if a.fields["badgeCode"] in portal.state.badges]
            badge = None
            if shown:
                newest = max(shown, key=lambda a: a.badge_order)
                kept = portal.state.badges[newest.fields["badgeCode"]]
                badge = {"code": kept.code, "type": kept.type,
                         "title": pick_language(kept.title, lang),
                         "value": pick_language(kept.value, lang)}
            now = portal.clock.now()
            overdue = sum(1 for a in open_ones
                          if a.fields["deadline"] is not None and a.fields["deadline"] < now)
            names = portal.state.kanban_fields.get(entity, [])
            fields = {name: self._shown_value(entity, item, name) for name in names}
            return {"title": item.title, "stage_id": stage.status_id, "stage_name": stage.name,
                    "badge": badge, "fields": fields, "overdue_activities": overdue,
                    "labels": {name: self._label(entity, name) for name in names}}

    def _label(self, entity: str, name: str) -> str:
        prefix = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}[entity]
        field = next((f for f in self.portal.state.user_fields.values()
                      if f.entity_id == prefix and f.field_name == name), None)
        return (field.label if field is not None else "") or name

    def _shown_value(self, entity: str, item: Deal | Lead, name: str) -> str:
        portal = self.portal
        if name == "OPPORTUNITY":
            return getattr(item, "opportunity", "")
        if name == "ASSIGNED_BY_ID":
            return portal.user_card(item.assigned_by_id)["name"]
        if name == "DATE_CREATE":
            return portal.clock.iso(item.date_create)
        prefix = {"deal": "CRM_DEAL", "lead": "CRM_LEAD"}[entity]
        field = next((f for f in portal.state.user_fields.values()
                      if f.entity_id == prefix and f.field_name == name), None)
        value = item.user_fields.get(name)
        values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        if field is not None and field.user_type_id == "enumeration":
            labels = {str(i.get("ID")): str(i.get("VALUE", "")) for i in field.items}
            values = [labels.get(str(v), str(v)) for v in values]
        return ", ".join(str(v) for v in values)


def render_kanban_card(card: dict[str, Any], width: int = 40) -> str:
    """The card as boxed text: title, stage, badge (value in capitals, its colour), fields."""
    lines = [str(card["title"]), f"Stage: {card['stage_name']}"]
    badge = card.get("badge")
    if badge:
        colour = BADGE_COLOURS.get(badge["type"], badge["type"])
        lines.append(f"[{str(badge['value']).upper()}] {badge['title']} ({colour})")
    labels = card.get("labels", {})
    for name, value in card.get("fields", {}).items():
        lines.append(f"{labels.get(name, name)}: {value}")
    if card.get("overdue_activities"):
        lines.append(f"Overdue activities: {card['overdue_activities']}")
    inner = max([width - 4, *(len(line) for line in lines)])
    edge = "+" + "-" * (inner + 2) + "+"
    return "\n".join([edge, *(f"| {line.ljust(inner)} |" for line in lines), edge])

"""Contacts, companies and smart-process items: what a task may be bound to besides deals
and leads. They hold a title (a contact's name), a responsible and their dates; no stages.

Each change fires its CRM event: ``ONCRMCONTACT*``, ``ONCRMCOMPANY*`` and, for smart
processes, ``ONCRMDYNAMICITEM*`` (whose ``FIELDS`` also name ``ENTITY_TYPE_ID``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import Change
from emulator.errors import InvalidArgument, RestError
from emulator.state import CrmItem, SmartProcess

if TYPE_CHECKING:
    from emulator.portal import Portal

CONTACT, COMPANY = 3, 4
FIRST_SMART_PROCESS = 128
_NAMES = {CONTACT: "Contact", COMPANY: "Company"}
_EVENTS = {CONTACT: "ONCRMCONTACT", COMPANY: "ONCRMCOMPANY"}


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{name} is not an integer") from exc


class CrmItemService:
    """The one writer of ``PortalState.crm_items`` and ``smart_processes``."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.state = portal.state

    # types ------------------------------------------------------------------
    def add_smart_process(self, title: str, entity_type_id: int | None = None) -> SmartProcess:
        """A new smart-process type; its entityTypeId is the next free one from 128."""
        with self.state.lock:
            taken = self.state.smart_processes
            if entity_type_id is None:
                entity_type_id = max([FIRST_SMART_PROCESS - 1, *taken]) + 1
            if entity_type_id < FIRST_SMART_PROCESS or entity_type_id in taken:
                raise InvalidArgument(f"entityTypeId {entity_type_id} cannot be used")
            process = SmartProcess(entity_type_id, title or f"Smart process {entity_type_id}")
            taken[entity_type_id] = process
            self.state.crm_items[entity_type_id] = {}
            return process

    def knows(self, entity_type_id: int) -> bool:
        return entity_type_id in self.state.crm_items

    def name_of(self, entity_type_id: int) -> str:
        process = self.state.smart_processes.get(entity_type_id)
        return process.title if process else _NAMES[entity_type_id]

    def _store(self, entity_type_id: int) -> dict[int, CrmItem]:
        store = self.state.crm_items.get(entity_type_id)
        if store is None:
            # The answer crm.item.* gives for a type the portal does not have.
            raise RestError("NOT_FOUND", f"Smart process {entity_type_id} not found", 400)
        return store

    # items ------------------------------------------------------------------
    def get(self, entity_type_id: int, item_id: Any) -> CrmItem:
        item = self._store(entity_type_id).get(_int(item_id, "id"))
        if item is None:
            raise RestError("NOT_FOUND", f"{self.name_of(entity_type_id)} not found "
                                         f"(ID = {item_id})", 400)
        return item

    def items(self, entity_type_id: int) -> list[CrmItem]:
        return list(self._store(entity_type_id).values())

    def add(self, change: Change, entity_type_id: int, fields: dict[str, Any]) -> CrmItem:
        """``fields`` by their crm.item names: ``title``, ``name``, ``lastName``,
        ``assignedById`` (the acting user when left out)."""
        now = self.portal.clock.now()
        with self.state.lock:
            store = self._store(entity_type_id)
            item = CrmItem(
                entity_type_id=entity_type_id, id=self.state.next_id(f"crm_{entity_type_id}"),
                title=str(fields.get("title") or ""),
                assigned_by_id=_int(fields.get("assignedById") or change.actor_id,
                                    "assignedById"),
                created_by=change.actor_id, date_create=now, date_modify=now,
                modify_by=change.actor_id, name=str(fields.get("name") or ""),
                last_name=str(fields.get("lastName") or ""),
            )
            if entity_type_id == CONTACT:
                item.title = " ".join(p for p in (item.name, item.last_name) if p)
            if not item.title:
                item.title = f"{self.name_of(entity_type_id)} #{item.id}"
            self.portal.require_user(item.assigned_by_id)
            store[item.id] = item
        self._emit("ADD", item, change)
        return item

    def update(self, change: Change, entity_type_id: int, item_id: Any,
               fields: dict[str, Any]) -> CrmItem:
        with self.state.lock:
            item = self.get(entity_type_id, item_id)
            if fields.get("assignedById"):
                user = _int(fields["assignedById"], "assignedById")
                self.portal.require_user(user)
                item.assigned_by_id = user
            for key, attribute in (("title", "title"), ("name", "name"),
                                   ("lastName", "last_name")):
                if fields.get(key):
                    setattr(item, attribute, str(fields[key]))
            if entity_type_id == CONTACT and ("name" in fields or "lastName" in fields):
                item.title = " ".join(p for p in (item.name, item.last_name) if p)
            item.date_modify, item.modify_by = self.portal.clock.now(), change.actor_id
        self._emit("UPDATE", item, change)
        return item

    def delete(self, change: Change, entity_type_id: int, item_id: Any) -> None:
        with self.state.lock:
            item = self.get(entity_type_id, item_id)
            del self._store(entity_type_id)[item.id]
        self._emit("DELETE", item, change)

    def render(self, item: CrmItem) -> dict[str, Any]:
        """A crm.item row: camelCase keys, integer IDs. Contacts have a name, not a title."""
        iso = self.portal.clock.iso
        row: dict[str, Any] = {"id": item.id}
        if item.entity_type_id == CONTACT:
            row.update(name=item.name or None, lastName=item.last_name or None)
        else:
            row["title"] = item.title
        row.update({
            "assignedById": item.assigned_by_id, "createdBy": item.created_by,
            "updatedBy": item.modify_by, "createdTime": iso(item.date_create),
            "updatedTime": iso(item.date_modify), "opened": "Y",
            "entityTypeId": item.entity_type_id,
        })
        return row

    def _emit(self, verb: str, item: CrmItem, change: Change) -> None:
        fields = {"ID": str(item.id)}
        event = _EVENTS.get(item.entity_type_id)
        if event is None:
            event, kind = "ONCRMDYNAMICITEM", f"dynamic_{item.entity_type_id}"
            fields["ENTITY_TYPE_ID"] = str(item.entity_type_id)
        else:
            kind = _NAMES[item.entity_type_id].lower()
        self.portal.events.emit(event + verb, {"FIELDS": fields}, change, f"{kind}:{item.id}")

"""Offline event records: the latest change per object, reserved under a process_id."""

from __future__ import annotations

import secrets
from typing import Any

from emulator import filters
from emulator.clock import Clock
from emulator.state import OfflineEvent, PortalState

_GETTERS = {
    "ID": lambda e: e.id,
    "TIMESTAMP_X": lambda e: e.timestamp,
    "EVENT_NAME": lambda e: e.event_name,
    "MESSAGE_ID": lambda e: e.message_id,
}
_DATES = frozenset({"TIMESTAMP_X"})
# event.offline.list also filters by the reservation and the error mark.
_LIST_GETTERS = {
    **_GETTERS,
    "PROCESS_ID": lambda e: e.process_id or "",
    "ERROR": lambda e: int(e.error),
}


class OfflineQueue:
    def __init__(self, state: PortalState, clock: Clock) -> None:
        self.state = state
        self.clock = clock

    def add(
        self, client_id: str, event: str, data: dict[str, Any], additional: dict[str, Any],
        object_key: str, connector: str = "",
    ) -> OfflineEvent:
        """Record a change in the queue of the binding's auth_connector; an unreserved record
        of the same object there is refreshed instead."""
        with self.state.lock:
            for record in self.state.offline_events.values():
                if (
                    record.client_id == client_id
                    and record.connector == connector
                    and record.object_key == object_key
                    and record.event_name == event
                    and record.process_id is None
                    and not record.error
                ):
                    record.event_data = data
                    record.additional = additional
                    record.timestamp = self.clock.now()
                    return record
            record = OfflineEvent(
                id=self.state.next_id("offline"),
                message_id=secrets.token_hex(16),
                client_id=client_id,
                event_name=event,
                event_data=data,
                additional=additional,
                timestamp=self.clock.now(),
                object_key=object_key,
                connector=connector,
            )
            self.state.offline_events[record.id] = record
            return record

    def get(
        self, client_id: str, raw_filter: Any, order: Any, limit: int, clear: bool,
        process_id: str | None, error: bool, connector: str = "",
    ) -> dict[str, Any]:
        """``event.offline.get``: pick from the queue of `connector` (the auth_connector the
        events were bound with), then delete (clear=1) or reserve (clear=0)."""
        conditions = filters.parse(raw_filter)
        with self.state.lock:
            picked = [
                r
                for r in self._ordered(client_id, order)
                if r.error == error and r.connector == connector
                and (r.process_id is None or (process_id and r.process_id == process_id))
                and filters.matches(r, conditions, _GETTERS, _DATES)
            ][: max(1, min(limit, 50))]
            rendered = [self.render(r) for r in picked]
            if clear:
                for record in picked:
                    self.state.offline_events.pop(record.id, None)
                return {"process_id": None, "events": rendered}
            process_id = process_id or secrets.token_hex(16)
            for record in picked:
                record.process_id = process_id
            return {"process_id": process_id, "events": rendered}

    def clear(
        self, client_id: str, process_id: str, ids: list[Any] | None,
        message_ids: list[Any] | None,
    ) -> None:
        with self.state.lock:
            for record in self._selected(client_id, process_id, ids, message_ids):
                self.state.offline_events.pop(record.id, None)

    def mark_error(self, client_id: str, process_id: str, message_ids: list[Any]) -> None:
        with self.state.lock:
            for record in self._selected(client_id, process_id, None, message_ids):
                record.error = True
                record.process_id = None

    def list(self, client_id: str, raw_filter: Any, order: Any) -> list[dict[str, Any]]:
        conditions = filters.parse(raw_filter)
        with self.state.lock:
            return [
                {**self.render(r), "PROCESS_ID": r.process_id or "", "ERROR": int(r.error)}
                for r in self._ordered(client_id, order)
                if filters.matches(r, conditions, _LIST_GETTERS, _DATES)
            ]

    def drop_client(self, client_id: str) -> None:
        with self.state.lock:
            for record in [r for r in self.state.offline_events.values()
                           if r.client_id == client_id]:
                del self.state.offline_events[record.id]

    def render(self, record: OfflineEvent) -> dict[str, Any]:
        return {
            "ID": str(record.id),
            "TIMESTAMP_X": self.clock.iso(record.timestamp),
            "EVENT_NAME": record.event_name,
            "EVENT_DATA": record.event_data or False,
            "EVENT_ADDITIONAL": record.additional or False,
            "MESSAGE_ID": record.message_id,
        }

    def _ordered(self, client_id: str, order: Any) -> list[OfflineEvent]:
        records = [r for r in self.state.offline_events.values() if r.client_id == client_id]
        field, direction = "TIMESTAMP_X", "ASC"
        if isinstance(order, dict) and order:
            field, direction = next(iter(order.items()))
        getter = _GETTERS.get(str(field).upper(), _GETTERS["TIMESTAMP_X"])
        records.sort(key=lambda r: (getter(r), r.id), reverse=str(direction).upper() == "DESC")
        return records

    def _selected(
        self, client_id: str, process_id: str, ids: list[Any] | None,
        message_ids: list[Any] | None,
    ) -> list[OfflineEvent]:
        wanted_ids = {str(i) for i in ids or []}
        wanted_messages = {str(m) for m in message_ids or []}
        return [
            r
            for r in self.state.offline_events.values()
            if r.client_id == client_id
            and r.process_id == process_id
            and (not wanted_ids or str(r.id) in wanted_ids)
            and (not wanted_messages or r.message_id in wanted_messages)
        ]

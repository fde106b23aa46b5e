"""The offline catch-up: what the portals kept in their offline queues for TaskBridge
(changes whose online delivery was lost) is journaled, then cleared.

Records are read with `event.offline.get` and `clear=0`: the portal reserves them under
a `process_id` until `event.offline.clear` (or `event.offline.error`) names them, so a
run that dies halfway loses nothing. Records it cannot journal are marked as errors; the
portal keeps those apart (`event.offline.get` with `error=1`) for support to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from connector.errors import SchedulerError
from connector.portals.install import AUTH_CONNECTOR
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.settings import Settings
from connector.storage.engines import Engine, Storage
from connector.storage.journal import Journal
from connector.storage.portals import INSTALLED, Portal
from mappers.errors import ValidationError
from mappers.portal_events import OFFLINE_EVENTS, PortalEvent

log = logging.getLogger(__name__)

OFFLINE_PAGE = 50
OFFLINE_ROUNDS = 20


def offline_catch_up(storage: Storage, settings: Settings, *,
                     client_for: Callable[[Portal], PortalClient] | None = None) -> int:
    """Journal what the portals' offline queues hold, then clear what was journaled."""
    total = 0
    for portal in storage.portals.all():
        if portal.state != INSTALLED:
            continue
        client = (client_for or (lambda p: PortalClient.for_portal(
            storage, settings, p.member_id)))(portal)
        try:
            total += _drain_offline(storage.engine, portal, client)
        except BitrixError as exc:
            log.warning("offline catch-up for portal %s stopped: %s", portal.member_id, exc)
        finally:
            client.close()
    return total


def _drain_offline(engine: Engine, portal: Portal, client: PortalClient) -> int:
    """Take back what an interrupted run left reserved, then read the queue page by page:
    each page is reserved (`clear=0`), journaled, then cleared or marked as errors."""
    journaled = _recover_reserved(engine, portal, client)
    for _ in range(OFFLINE_ROUNDS):
        # Events bound with an auth_connector queue apart: read that queue.
        answer = client.call("event.offline.get", {"clear": 0, "limit": OFFLINE_PAGE,
                                                   "auth_connector": AUTH_CONNECTOR},
                             write=False).result or {}
        events = answer.get("events") or []
        if not events:
            break
        journaled += _settle_offline(engine, portal, client,
                                     str(answer.get("process_id") or ""), events)
        if len(events) < OFFLINE_PAGE:
            break
    return journaled


def _recover_reserved(engine: Engine, portal: Portal, client: PortalClient) -> int:
    """Records reserved by a run that died between `event.offline.get` and
    `event.offline.clear` stay hidden from `get` for good; `event.offline.list` shows
    them with their PROCESS_ID, under which they can still be cleared. The catch-up runs
    on the elected worker, one run at a time, so whatever is reserved when a run starts
    was left by an earlier one. (Should a deposed leader still be mid-run, its records
    are journaled twice: a second look at an object costs a fetch, nothing more.)"""
    journaled = 0
    for _ in range(OFFLINE_ROUNDS):
        page = client.call("event.offline.list", {
            "filter": {"!PROCESS_ID": "", "ERROR": 0}, "order": {"ID": "ASC"},
        }, write=False).result or []
        reserved = [record for record in page if record.get("PROCESS_ID")]
        if not reserved:
            break
        by_process: dict[str, list[dict[str, Any]]] = {}
        for record in reserved:
            by_process.setdefault(str(record["PROCESS_ID"]), []).append(record)
        for process_id, records in by_process.items():
            log.info("offline catch-up for portal %s: %d records left reserved by process "
                     "%s taken back", portal.member_id, len(records), process_id)
            journaled += _settle_offline(engine, portal, client, process_id, records)
        if len(page) < OFFLINE_PAGE:
            break
    return journaled


def _settle_offline(engine: Engine, portal: Portal, client: PortalClient,
                    process_id: str, records: list[dict[str, Any]]) -> int:
    """Journal reserved records, mark those that cannot be journaled as errors (the portal
    keeps them for `event.offline.get` with `error=1`), and clear the rest."""
    journaled, cleared, broken = 0, [], []
    for record in records:
        try:
            journaled += _journal_offline(engine, portal, record, process_id)
        except UnusableOfflineRecord as exc:
            log.warning("offline record %s (%s) of portal %s marked as an error: %s",
                        record.get("ID"), record.get("EVENT_NAME"), portal.member_id, exc)
            if record.get("MESSAGE_ID"):
                broken.append(record["MESSAGE_ID"])
                continue
        cleared.append(record.get("ID"))
    if broken:
        client.call("event.offline.error", {"process_id": process_id, "message_id": broken},
                    idempotent=True)
    if cleared:  # never without ids: that would clear every record of the process
        client.call("event.offline.clear", {"process_id": process_id, "id": cleared},
                    idempotent=True)
    return journaled


class UnusableOfflineRecord(SchedulerError):
    """An offline record that names no event or object TaskBridge can act on."""


def _journal_offline(engine: Engine, portal: Portal, record: dict[str, Any],
                     process_id: str) -> int:
    """1 when journaled, 0 when a row of the object still waits unclaimed (its fetch will
    see this change too); raises `UnusableOfflineRecord`."""
    name = str(record.get("EVENT_NAME", "")).upper()
    if name not in OFFLINE_EVENTS:
        raise UnusableOfflineRecord(f"an event TaskBridge does not handle: {name or '-'}")
    data = record.get("EVENT_DATA")
    if not isinstance(data, dict):
        raise UnusableOfflineRecord("EVENT_DATA is not an object")
    event = PortalEvent(name=name, data=_as_form_values(data),
                        auth={"member_id": portal.member_id})
    try:
        object_id = event.object_id
    except ValidationError as exc:
        raise UnusableOfflineRecord(f"EVENT_DATA: {exc}") from exc
    if not object_id:
        raise UnusableOfflineRecord("EVENT_DATA names no object ID")
    # Only a row not yet claimed covers this change: a row being processed may have
    # fetched the object before it changed (the receiver skips the same way).
    if Journal(engine).has_pending(portal.id, event.object_key):
        return 0
    Journal(engine).enqueue(
        portal_id=portal.id, member_id=portal.member_id, event=name,
        object_type=event.object_type, object_id=event.object_id,
        payload={"offline_id": str(record.get("ID", "")), "process_id": process_id,
                 "data": event.data},
        source="offline")
    return 1


def _as_form_values(value: Any) -> Any:
    """Numbers as the strings an online event's form carries (the parsers expect those)."""
    if isinstance(value, dict):
        return {key: _as_form_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_form_values(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value

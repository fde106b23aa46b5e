"""Accepting an event: verify it came from an installed portal, then journal it.

No REST call happens here: the receiver answers in milliseconds and the worker does the
rest. Every event, ONAPPUPDATE and ONAPPUNINSTALL included, must carry the stored
application token; no event can replace it. Only a verified administrator's install
(`install_flow.install`) stores a new one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import InvalidApplicationToken, PortalUninstalled
from connector.settings import Settings
from connector.storage import counters as metric_counters
from connector.storage.access import AdminSessionStore
from connector.storage.engines import Storage
from connector.storage.group_commit import GroupCommit
from connector.storage.journal import Journal
from connector.storage.journal_rows import Arrival, Recorded
from connector.storage.portals import UNINSTALLED, Portal
from mappers.portal_events import PortalEvent, dedupe_key, parse_event, redact
from mappers.robot_calls import RobotCall, parse_robot_call, robot_event

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
TOUCH_SECONDS = 60.0


@dataclass(frozen=True)
class Accepted:
    event: PortalEvent
    recorded: Recorded


class EventIntake:
    """Verifies and journals events; keeps a short-lived cache of portals by member_id."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self._storage = storage
        self._settings = settings
        self._journal = GroupCommit(Journal(storage.engine))
        self._cache: dict[str, tuple[float, Portal]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()
        # Anyone can send a refused event: counted in memory, written every few seconds.
        self._refused = metric_counters.DeferredCounts(storage.engine)

    def accept(
        self, body: Mapping[str, Any], *, source: str = "online", correlation_id: str | None = None
    ) -> Accepted:
        """Raises `EventError` (bad body), `InvalidApplicationToken`, `PortalUninstalled`."""
        event = parse_event(body)
        portal = self._verified_portal(event)
        if event.auth.domain and event.auth.domain != portal.domain:
            log.warning(
                "event %s for portal %s names domain %s, stored %s; verified by token only",
                event.name, portal.member_id, event.auth.domain[:100], portal.domain,
            )
        recorded = self._journal.record(Arrival(
            event=event,
            portal_id=portal.id,
            payload=redact(dict(body)),
            dedupe_key=dedupe_key(event),
            received_at=datetime.now(UTC),
            source=source,
            correlation_id=correlation_id,
            due_in=timedelta(seconds=self._settings.worker_coalesce_seconds),
        ))
        self._after_lifecycle(event, portal)
        self._touch(portal)
        return Accepted(event=event, recorded=recorded)

    def accept_robot(self, body: Mapping[str, Any], *,
                     correlation_id: str | None = None) -> tuple[RobotCall, Recorded]:
        """A call of one of TaskBridge's automation rules, verified like an event and
        journaled (source "robot"); its event token is kept sealed, like tokens.
        Raises `RobotCallError`, `InvalidApplicationToken`, `PortalUninstalled`."""
        call = parse_robot_call(body)
        event = robot_event(call)
        portal = self._verified_portal(event)
        recorded = self._journal.record(Arrival(
            event=event,
            portal_id=portal.id,
            payload=call.journal_payload(self._storage.cipher.encrypt(call.event_token)),
            dedupe_key=dedupe_key(event),
            received_at=datetime.now(UTC),
            source="robot",
            correlation_id=correlation_id,
        ))
        self._touch(portal)
        return call, recorded

    def _verified_portal(self, event: PortalEvent) -> Portal:
        member_id = event.auth.member_id
        portal = self._cached(member_id)
        if portal is None or not portal.application_token_matches(event.auth.application_token):
            portal = self._reload(member_id)
        if portal is None:
            log.warning("event %s refused: unknown portal %s", event.name, member_id)
            self._refuse("unknown_portal")
            raise InvalidApplicationToken(member_id, "unknown member_id")
        if portal.state == UNINSTALLED:
            self._refuse("uninstalled")
            raise PortalUninstalled(member_id)
        if portal.application_token_matches(event.auth.application_token):
            return portal
        log.warning("event %s refused for portal %s: application token mismatch",
                    event.name, member_id)
        self._refuse("token_mismatch")
        raise InvalidApplicationToken(member_id, "application token mismatch")

    def _refuse(self, reason: str) -> None:
        # Only the reason as a label: member ids and event names of forged requests are
        # the sender's choice and would grow the series without bound.
        self._refused.add(metric_counters.EVENTS_REFUSED, metric_counters.labels(reason=reason))

    def flush_counts(self) -> None:
        """Write the refused-event counts kept in memory now (tests, shutdown)."""
        self._refused.flush()

    def _after_lifecycle(self, event: PortalEvent, portal: Portal) -> None:
        if event.name != "ONAPPUNINSTALL":
            return
        if str(event.data.get("CLEAN", "0")) == "1":
            self._storage.portals.delete(portal.member_id)
            log.info("portal %s uninstalled TaskBridge; its data was deleted", portal.member_id)
        else:
            self._storage.portals.mark_uninstalled(portal.member_id)
            # Its admins' open sessions would otherwise outlive the app on their portal.
            AdminSessionStore(self._storage.engine).revoke_portal(portal.id)
            log.info("portal %s uninstalled TaskBridge; data kept", portal.member_id)
        self.forget(portal.member_id)

    def forget(self, member_id: str) -> None:
        with self._lock:
            self._cache.pop(member_id, None)

    def _cached(self, member_id: str) -> Portal | None:
        with self._lock:
            entry = self._cache.get(member_id)
        if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
            return None
        return entry[1]

    def _reload(self, member_id: str) -> Portal | None:
        portal = self._storage.portals.find(member_id)
        with self._lock:
            if portal is None:
                self._cache.pop(member_id, None)
            else:
                self._cache[member_id] = (time.monotonic(), portal)
        return portal

    def _touch(self, portal: Portal) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(portal.member_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
                return
            self._touched[portal.member_id] = now
        if portal.state != UNINSTALLED and self._storage.portals.find(portal.member_id):
            self._storage.portals.touch_event(portal.member_id, datetime.now(UTC))

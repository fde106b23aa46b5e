"""Changing a portal's settings from the admin page: the portal's funnels and stages to pick
from, validation against them, and a save that leaves a `SETTINGS_CHANGED` row in the
journal (source `admin`, state `done`, old and new values in `detail`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from connector.journal import DONE
from connector.portal_settings import PortalSettings, PortalSettingsError, apply_assignments
from connector.rest_client import PortalClient
from connector.rest_errors import NotFound
from connector.schema import journal, portals
from connector.storage import Storage

SETTINGS_EVENT = "SETTINGS_CHANGED"
ADMIN_SOURCE = "admin"


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    semantics: str  # "" in progress, S success, F failure


@dataclass(frozen=True)
class Funnel:
    id: int
    name: str
    stages: list[Stage] = field(default_factory=list)


def load_funnels(client: PortalClient) -> list[Funnel]:
    """Deal funnels and their stages, in two requests (categories, then one batch)."""
    try:
        answer = client.call("crm.category.list", {"entityTypeId": 2}).result or {}
        categories = [(int(c["id"]), str(c.get("name", ""))) for c in answer.get("categories", [])]
    except NotFound:
        legacy = client.call("crm.dealcategory.list", {}).result or []
        categories = [(int(c["ID"]), str(c.get("NAME", ""))) for c in legacy]
    if not any(cid == 0 for cid, _ in categories):
        categories.insert(0, (0, "General"))
    commands = {
        str(cid): ("crm.status.list",
                   {"filter": {"ENTITY_ID": "DEAL_STAGE" if cid == 0 else f"DEAL_STAGE_{cid}"}})
        for cid, _name in categories
    }
    stages = client.batch(commands)
    funnels = []
    for cid, name in categories:
        rows = stages.results.get(str(cid)) or []
        funnels.append(Funnel(cid, name, [
            Stage(str(s["STATUS_ID"]), str(s.get("NAME", s["STATUS_ID"])),
                  str(s.get("SEMANTICS") or "")) for s in rows
        ]))
    return funnels


def validate(current: dict[str, Any], assignments: list[tuple[str, str]],
             funnels: list[Funnel] | None) -> PortalSettings:
    """Apply form values; with funnels known, each review stage must be one of its funnel's."""
    settings, _rates = apply_assignments(current, assignments)
    if funnels is None:
        return settings
    known = {f.id: {s.id for s in f.stages} for f in funnels}
    for category, stage in settings.review_stage.items():
        if category not in known:
            raise PortalSettingsError(f"review_stage.{category}: the portal has no such funnel")
        if stage not in known[category]:
            raise PortalSettingsError(
                f"review_stage.{category}: {stage!r} is not a stage of that funnel")
    return settings


def save_settings(storage: Storage, member_id: str, new: PortalSettings, *, by: str,
                  correlation_id: str | None = None, now: datetime | None = None) -> int:
    """Store the settings and journal the change; returns the journal row's id."""
    now = now or datetime.now(UTC)
    portal = storage.portals.get(member_id)
    old = PortalSettings.model_validate(portal.settings).model_dump(mode="json")
    fresh = new.model_dump(mode="json")
    change = {"by": by, "old": old, "new": fresh,
              "changed": sorted(k for k in fresh if fresh[k] != old.get(k))}
    with storage.engine.begin() as conn:
        conn.execute(update(portals).where(portals.c.id == portal.id)
                     .values(settings=fresh, updated_at=now))
        return conn.execute(
            journal.insert().values(
                portal_id=portal.id, member_id=member_id, received_at=now,
                source=ADMIN_SOURCE, event=SETTINGS_EVENT, object_type="portal",
                object_id="", object_key="settings", payload=change,
                dedupe_key=f"settings:{uuid.uuid4().hex}", state=DONE, attempts=0,
                finished_at=now, detail={**change, "outcome": "settings_changed"},
                correlation_id=correlation_id,
            ).returning(journal.c.id)
        ).scalar_one()

"""Changing a portal's settings (the admin page and `taskbridge portals set`): the portal's
funnels and stages to pick from, validation against them, the portal-side part of a
change (a new label language relabels the status field on the portal), and a save that
leaves a `SETTINGS_CHANGED` row in the journal (source `admin`, state `done`, old and new
values in `detail`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.portals.install import relabel_status_field
from connector.portals.settings import (
    PortalSettings,
    PortalSettingsError,
    apply_assignments,
    labels_language,
)
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError, NotFound
from connector.storage.engines import Storage
from connector.storage.journal_rows import DONE
from mappers.statuses import language_code

SETTINGS_EVENT = "SETTINGS_CHANGED"
ADMIN_SOURCE = "admin"
FINAL_SEMANTICS = ("S", "F")  # won / lost: the stages a review stage holds a deal before


@dataclass(frozen=True)
class Stage:
    id: str
    name: str
    semantics: str  # "" in progress, S success, F failure

    @property
    def is_final(self) -> bool:
        return self.semantics in FINAL_SEMANTICS


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


def names_review_stage(assignments: list[tuple[str, str]]) -> bool:
    """Whether the assignments set a review stage, which needs the portal's stages."""
    return any(key.startswith("review_stage.") and value.strip().lower() not in ("", "none", "-")
               for key, value in assignments)


def validate(current: dict[str, Any], assignments: list[tuple[str, str]],
             funnels: list[Funnel] | None) -> PortalSettings:
    """Apply the values; with funnels known, each review stage must be one of its funnel's
    stages that a deal passes before it is won or lost."""
    settings, _rates = apply_assignments(current, assignments)
    if funnels is None:
        return settings
    known = {f.id: {s.id: s for s in f.stages} for f in funnels}
    for category, stage in settings.review_stage.items():
        if category not in known:
            raise PortalSettingsError(f"review_stage.{category}: the portal has no such funnel")
        if stage not in known[category]:
            raise PortalSettingsError(
                f"review_stage.{category}: {stage!r} is not a stage of that funnel")
        if known[category][stage].is_final:
            raise PortalSettingsError(
                f"review_stage.{category}: {stage!r} is a final stage (won or lost); the "
                "review stage holds a deal before it reaches one")
    return settings


def reviewable(funnels: list[Funnel]) -> list[Funnel]:
    """The funnels with only the stages a review stage may be (final ones left out)."""
    return [Funnel(f.id, f.name, [s for s in f.stages if not s.is_final]) for f in funnels]


def change_settings(storage: Storage, client: PortalClient, member_id: str,
                    new: PortalSettings, *, by: str, correlation_id: str | None = None,
                    now: datetime | None = None) -> int:
    """Make validated settings take effect: on the portal first (a new label language
    relabels the status field), then stored and journaled; returns the journal row's id.
    If the portal refuses, nothing is stored."""
    portal = storage.portals.get(member_id)
    before = labels_language(portal)
    after = language_code(new.language or portal.language)
    portal_side: dict[str, Any] = {}
    if after != before:
        try:
            report = relabel_status_field(client, after)
        except BitrixError as exc:
            raise PortalSettingsError(
                f"language: the portal did not take the status field's {after} labels "
                f"({exc.code or type(exc).__name__}); nothing changed") from None
        portal_side["relabelled"] = report.relabelled_fields
    return save_settings(storage, member_id, new, by=by, correlation_id=correlation_id,
                         now=now, portal_side=portal_side)


def save_settings(storage: Storage, member_id: str, new: PortalSettings, *, by: str,
                  correlation_id: str | None = None, now: datetime | None = None,
                  portal_side: dict[str, Any] | None = None) -> int:
    """Store the settings and journal the change (with what it changed on the portal);
    returns the journal row's id."""
    now = now or datetime.now(UTC)
    portal = storage.portals.get(member_id)
    old = PortalSettings.model_validate(portal.settings).model_dump(mode="json")
    fresh = new.model_dump(mode="json")
    change = {"by": by, "old": old, "new": fresh,
              "changed": sorted(k for k in fresh if fresh[k] != old.get(k))}
    if portal_side:
        change["portal"] = portal_side
    return storage.portals.save_settings(portal.id, fresh, now=now, change_row=dict(
        portal_id=portal.id, member_id=member_id, received_at=now,
        source=ADMIN_SOURCE, event=SETTINGS_EVENT, object_type="portal",
        object_id="", object_key="settings", payload=change,
        dedupe_key=f"settings:{uuid.uuid4().hex}", state=DONE, attempts=0,
        finished_at=now, detail={**change, "outcome": "settings_changed"},
        correlation_id=correlation_id,
    ))

"""A portal's settings: closing behaviour, review stage per funnel, label language; the
progress of reading its tasks again (backfill_views)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, redirect, request, url_for

from connector.errors import PortalNotFound
from connector.portals.settings import PortalSettings, PortalSettingsError
from connector.portals.settings_change import (
    Funnel,
    change_settings,
    load_funnels,
    reviewable,
    validate,
)
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.storage.portals import Portal
from mappers.statuses import registered_languages
from webhooks.admin.backfill_views import RUNNING, progress_of
from webhooks.admin.pages import message, render, storage, viewer
from webhooks.admin_auth import check_csrf

log = logging.getLogger(__name__)


def attach(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/settings", "my_settings", my_settings)
    blueprint.add_url_rule("/portals/<member_id>/settings", "settings", settings_page,
                           methods=["GET", "POST"])


def my_settings():  # type: ignore[no-untyped-def]
    """A portal admin's own settings; staff choose a portal first."""
    if viewer().member_id:
        return redirect(url_for("admin.settings", member_id=viewer().member_id))
    portals = storage().portals.all()
    return render("portals.html", portals=portals)


def settings_page(member_id: str):  # type: ignore[no-untyped-def]
    try:
        portal = storage().portals.get(member_id)
    except PortalNotFound:
        return message("not_found", 404)
    if not viewer().may_see(portal.id):
        return message("forbidden_portal", 403)
    settings = current_app.extensions["taskbridge.settings"]
    client = PortalClient.for_portal(storage(), settings, member_id)
    try:
        return _settings_page(portal, client)
    finally:
        client.close()


def _settings_page(portal: Portal, client: PortalClient):  # type: ignore[no-untyped-def]
    funnels = _funnels(portal.member_id, client)
    current = PortalSettings.model_validate(portal.settings)
    # Final stages are not offered: a review stage holds a deal before it is won or lost.
    shown = reviewable(funnels) if funnels is not None else None
    # HEAD is a GET without a body: only a POST may change settings.
    if request.method != "POST":
        return render("settings.html", portal=portal, current=current, funnels=shown,
                      saved=request.args.get("saved"), **_choices(portal))
    check_csrf(viewer(), request.form.get("csrf_token"))
    try:
        fresh = validate(portal.settings, _assignments(request.form, funnels), funnels)
        change_settings(storage(), client, portal.member_id, fresh, by=viewer().who,
                        correlation_id=g.get("correlation_id"))
    except PortalSettingsError as exc:
        return render("settings.html", status=400, portal=portal, current=current,
                      funnels=shown, error=str(exc), form=request.form, **_choices(portal))
    return redirect(url_for("admin.settings", member_id=portal.member_id, saved=1), code=303)


def _choices(portal: Portal) -> dict:
    return {"label_languages": sorted(registered_languages()),
            "backfill": progress_of(portal), "backfill_running": RUNNING,
            "backfill_queued": request.args.get("backfill") == "queued"}


def _funnels(member_id: str, client: PortalClient) -> list[Funnel] | None:
    """The portal's real funnels and stages, or None when the portal cannot be asked."""
    try:
        return load_funnels(client)
    except BitrixError as exc:
        log.warning("portal %s: stages not readable for the settings page: %s",
                    member_id, exc.code or type(exc).__name__)
        return None


def _assignments(form, funnels: list[Funnel] | None) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    pairs = [
        ("close_tasks_on_lead_convert", "true" if form.get("close_tasks_on_lead_convert")
         else "false"),
        ("close_tasks_on_deal_close", "true" if form.get("close_tasks_on_deal_close")
         else "false"),
        ("language", form.get("language", "").strip()),
    ]
    if funnels is not None:  # without the portal's stages, keep the stored ones
        pairs.extend((f"review_stage.{f.id}", form.get(f"review_stage.{f.id}", "").strip())
                     for f in funnels)
    return pairs

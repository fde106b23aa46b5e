"""`POST /bitrix/install`: the install page POST and the ONAPPINSTALL event alike."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request

from connector.portals.install import InstallRequest, install
from webhooks import answers
from webhooks.errors import BodyError
from webhooks.request_body import read_body

blueprint = answers.register(Blueprint("install", __name__))


@blueprint.post("/bitrix/install")
def receive():  # type: ignore[no-untyped-def]
    body = read_body(request, include_query=True)
    storage = current_app.extensions["taskbridge.storage"]
    settings = current_app.extensions["taskbridge.settings"]
    if str(body.get("event", "")).upper() == "ONAPPINSTALL":
        report = install(storage, settings, _from_event(body))
        current_app.extensions["taskbridge.intake"].forget(_text(body["auth"], "member_id"))
        return jsonify(status="ok", changed=report.changed)
    install_request = _from_page(body)
    report = install(storage, settings, install_request)
    current_app.extensions["taskbridge.intake"].forget(install_request.member_id)
    summary = "Setup complete." if not report.changed else (
        f"Bound {len(report.bound_events)} events and {len(report.bound_placements)} placements; "
        f"created {len(report.created_fields)} fields."
    )
    return render_template(
        "install_finish.html", language=install_request.language, summary=summary
    )


def _from_event(body: dict[str, Any]) -> InstallRequest:
    auth = body.get("auth")
    if not isinstance(auth, dict):
        raise BodyError(400, "invalid_install", "ONAPPINSTALL without auth[...]")
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return InstallRequest(
        member_id=_text(auth, "member_id"),
        domain=_text(auth, "domain", required=False),
        refresh_token=_text(auth, "refresh_token"),
        application_token=_text(auth, "application_token"),
        language=_text(data, "LANGUAGE_ID", required=False) or "en",
    )


def _from_page(body: dict[str, Any]) -> InstallRequest:
    return InstallRequest(
        member_id=_text(body, "member_id"),
        domain=_text(body, "DOMAIN", required=False),
        refresh_token=_text(body, "REFRESH_ID"),
        application_token=_text(body, "APPLICATION_TOKEN"),
        language=_text(body, "LANG", required=False) or "en",
    )


def _text(source: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = source.get(key, "")
    if not isinstance(value, str) or len(value) > 512 or (required and not value):
        raise BodyError(400, "invalid_install", f"{key}: missing or not a short string")
    return value

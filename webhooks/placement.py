"""`POST /bitrix/placement`: the app opened inside Bitrix24.

`DEFAULT` (the app's own page): a verified portal admin gets a session held to that portal
and lands on its sync log. The card tabs are rendered by `webhooks.placement_tabs`, from
reads made with the opening user's own token in the batch that verifies them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, current_app, redirect, request, url_for

from connector.storage.portals import UserTokenStore
from mappers.errors import InvalidIdError
from webhooks import answers, placement_tabs
from webhooks.admin_auth import PORTAL, start_session
from webhooks.errors import PlacementRefused
from webhooks.placement_verify import VerifiedTokens, find_portal, verify_user
from webhooks.request_body import read_body

log = logging.getLogger(__name__)

blueprint = answers.register(Blueprint("placement", __name__))

TABS = ("TASK_VIEW_TAB", "CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB")


@blueprint.post("/bitrix/placement")
def open_placement():  # type: ignore[no-untyped-def]
    body = read_body(request, include_query=True)
    placement = str(body.get("PLACEMENT") or "DEFAULT").upper()
    if placement != "DEFAULT" and placement not in TABS:
        raise PlacementRefused(404, "unknown_placement",
                               f"TaskBridge has no {placement[:64]} placement")
    storage = current_app.extensions["taskbridge.storage"]
    settings = current_app.extensions["taskbridge.settings"]
    member_id = str(body.get("member_id") or "")
    try:
        portal = find_portal(storage, member_id)
        tab = (placement_tabs.prepare(placement, _options(body), portal)
               if placement != "DEFAULT" else None)
        user = verify_user(storage, settings, portal, str(body.get("AUTH_ID") or ""),
                           tab.commands if tab else None, seen=_verified_tokens(),
                           lifetime=_lifetime(body))
    except InvalidIdError as exc:
        raise PlacementRefused(400, "invalid_placement", str(exc)) from exc
    except PlacementRefused as exc:
        log.warning("placement %s refused for portal %s: %s", placement,
                    member_id[:64] or "?", exc.code)
        raise
    try:
        _keep_user_token(storage, user, body)
        if tab is None:
            return _admin_session(user, str(body.get("LANG") or ""))
        return placement_tabs.render(tab, user)
    finally:
        user.client.close()


def _verified_tokens() -> VerifiedTokens:
    return current_app.extensions.setdefault("taskbridge.verified_tokens", VerifiedTokens())


def _lifetime(body: dict[str, Any]) -> float:
    """How long the portal says AUTH_ID lives (`AUTH_EXPIRES`), an hour at most."""
    raw = str(body.get("AUTH_EXPIRES") or "")
    return float(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 3600.0


def _admin_session(user: Any, language: str):  # type: ignore[no-untyped-def]
    if not user.is_admin:
        raise PlacementRefused(403, "not_portal_admin",
                               "Only an administrator of this portal can open TaskBridge's "
                               "pages.")
    response = redirect(url_for("admin.log_list"), code=303)
    start_session(response, {
        "kind": PORTAL, "portal_id": user.portal.id, "member_id": user.portal.member_id,
        "user_id": user.user_id, "name": user.name or f"user {user.user_id}",
        "language": language or user.portal.settings.get("language") or user.portal.language,
    })
    log.info("portal %s: admin user %s opened TaskBridge", user.portal.member_id, user.user_id)
    return response


def _keep_user_token(storage: Any, user: Any, body: dict[str, Any]) -> None:
    """The user's own tokens let the worker see which tasks they have opened.

    AUTH_ID was just verified as this user's; REFRESH_ID came alongside unchecked, so it
    is checked when first used: `storage.portals.UserTokenStore` drops it if the OAuth answer of
    its refresh names another user or portal (no extra call now, none later)."""
    refresh = str(body.get("REFRESH_ID") or "")
    if refresh and user.user_id:
        UserTokenStore(storage.engine, storage.cipher).save(
            user.portal.id, user.user_id, str(body.get("AUTH_ID") or ""), refresh)


def _options(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("PLACEMENT_OPTIONS")
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

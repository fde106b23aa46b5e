"""Installing TaskBridge into a portal, and keeping its portal-side setup whole.

Both documented ways in (the install page POST and ONAPPINSTALL) end here. The
tokens are verified with the OAuth server first: its answer, not the request, says
which portal they belong to. Every user who opens the app holds such tokens, so the
fresh token then asks the portal `user.admin`: only an administrator's install is
stored, and it is the only way a portal's application token ever changes. Then the
portal is set up in two REST requests: one batch reads what is bound, one batch binds
only what is missing, so a re-install is idempotent and an install on a portal whose
bindings drifted repairs them. The kanban badges (`connector.portals.badges`) are read
and added in those same two batches. Once installed, a backfill is queued: the open tasks
already bound to deals and leads get their statuses (`connector.sync.backfill`).

The status field's options are labelled in the portal's label language. When that
language changes, `relabel_status_field` renames the options in place: each keeps its
ID, so the value stored on every deal and lead stays valid and shows the new label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.errors import PortalError
from connector.portals.badges import BADGE_LIST, badge_commands
from connector.portals.install_admin import is_portal_admin
from connector.portals.robots import RobotSetup
from connector.portals.robots import commands as robot_commands
from connector.portals.robots import definitions as robot_definitions
from connector.portals.robots import record as robot_record
from connector.portals.settings import labels_language
from connector.rest.client import PortalClient
from connector.rest.endpoint_policy import check_endpoint
from connector.rest.errors import BitrixError
from connector.rest.oauth import OAuthError, TokenGrant, exchange_refresh_token
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import Installation, Portal
from connector.sync.backfill import request_backfill
from mappers.portal_events import BOUND_EVENTS, OFFLINE_EVENTS
from mappers.statuses import CrmTaskStatus, label, labels_for

log = logging.getLogger(__name__)

STATUS_FIELD = "UF_CRM_TASKBRIDGE_STATUS"
ENTITIES = ("deal", "lead")
PLACEMENTS = ("CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB", "TASK_VIEW_TAB")
AUTH_CONNECTOR = "taskbridge"
APP_TITLE = "TaskBridge"


class InstallRefused(PortalError):
    """An install whose tokens the OAuth server does not vouch for, or whose user the
    portal does not confirm as an administrator."""


@dataclass(frozen=True)
class InstallRequest:
    """What either install path received, as plain data (tokens hidden from repr)."""

    member_id: str
    domain: str
    refresh_token: str = field(repr=False)
    application_token: str = field(repr=False)
    language: str = "en"


@dataclass
class SetupReport:
    bound_events: list[str] = field(default_factory=list)
    bound_offline: list[str] = field(default_factory=list)
    created_fields: list[str] = field(default_factory=list)
    bound_placements: list[str] = field(default_factory=list)
    unbound_events: list[str] = field(default_factory=list)
    unbound_placements: list[str] = field(default_factory=list)
    relabelled_fields: list[str] = field(default_factory=list)
    added_robots: list[str] = field(default_factory=list)
    updated_robots: list[str] = field(default_factory=list)
    added_badges: list[str] = field(default_factory=list)
    badge_error: str = ""  # why the portal's badges could not be read or added
    robots: dict[str, Any] | None = None  # the portal's record (`connector.portals.robots`)
    requests: int = 0
    backfill_id: int | None = None  # the backfill an install queued (its journal row)

    @property
    def changed(self) -> bool:
        return bool(
            self.bound_events or self.bound_offline or self.created_fields or self.bound_placements
            or self.unbound_events or self.unbound_placements or self.relabelled_fields
            or self.added_robots or self.updated_robots or self.added_badges
        )


def install(storage: Storage, settings: Settings, request: InstallRequest) -> SetupReport:
    """Verify the tokens and the installing user, and only then store (tokens encrypted),
    set the portal up and mark it installed."""
    grant = _vouched_grant(settings, request)
    endpoint = check_endpoint(grant.client_endpoint, allow_insecure=settings.allow_insecure_portals,
                              resolve=True)
    _require_admin(settings, grant, endpoint)
    storage.portals.save(
        Installation(
            member_id=grant.member_id,
            domain=grant.domain or request.domain,
            client_endpoint=endpoint,
            server_endpoint=grant.server_endpoint,
            scope=grant.scope,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            expires_at=grant.expires_at,
            application_token=request.application_token,
            language=request.language,
        )
    )
    # A re-install keeps the portal's settings, and with them its chosen label language.
    stored = storage.portals.get(grant.member_id)
    language = labels_language(stored)
    report = ensure_setup(PortalClient.for_portal(storage, settings, grant.member_id), settings,
                          language=language,
                          rules=RobotSetup(grant.scope, grant.user_id, stored.robots))
    if report.robots is not None:
        storage.portals.set_robots(grant.member_id, report.robots)
    storage.portals.mark_installed(grant.member_id)
    # The work that existed before the install gets its statuses now, not at its next event.
    report.backfill_id = request_backfill(storage, storage.portals.get(grant.member_id).id,
                                          requested_by="install")
    log.info("portal %s installed by administrator %s (%s); backfill %s queued",
             grant.member_id, grant.user_id, _summary(report), report.backfill_id)
    return report


def _vouched_grant(settings: Settings, request: InstallRequest) -> TokenGrant:
    """The OAuth server's word on the install's refresh token, for the portal it names."""
    try:
        grant = exchange_refresh_token(settings, request.refresh_token)
    except OAuthError as exc:
        log.warning("install refused for portal %s: %s", request.member_id, exc.code)
        raise InstallRefused(
            f"the OAuth server did not accept the install's tokens ({exc.code})"
        ) from None
    if grant.member_id != request.member_id:
        log.warning("install refused for portal %s: its tokens belong to another portal",
                    request.member_id)
        raise InstallRefused("the install's member_id is not the one its tokens belong to")
    return grant


def _require_admin(settings: Settings, grant: TokenGrant, endpoint: str) -> None:
    """Refuse unless the portal says the grant's user is an administrator."""
    try:
        admin = is_portal_admin(settings, grant, endpoint)
    except BitrixError as exc:
        log.warning("install refused for portal %s: user.admin failed (%s)",
                    grant.member_id, exc.code or type(exc).__name__)
        raise InstallRefused(
            "the portal did not confirm that the installing user is an administrator"
        ) from None
    if not admin:
        log.warning("install refused for portal %s: user %s is not an administrator",
                    grant.member_id, grant.user_id)
        raise InstallRefused(
            "only a portal administrator can install TaskBridge; "
            "ask an administrator to install or reinstall it"
        )


def ensure_setup(client: PortalClient, settings: Settings, *, language: str,
                 rules: RobotSetup | None = None) -> SetupReport:
    """Bind whatever of the wanted events, fields, placements and automation rules the
    portal lacks (automation rules only when `rules` is given; a rule that fails to
    register never fails the rest: the portal's record says why)."""
    report = SetupReport()
    reading: dict[str, tuple[str, dict[str, Any]]] = {
        "events": ("event.get", {}),
        "placements": ("placement.get", {}),
        "deal_field": ("crm.deal.userfield.list", {"filter": {"FIELD_NAME": STATUS_FIELD}}),
        "lead_field": ("crm.lead.userfield.list", {"filter": {"FIELD_NAME": STATUS_FIELD}}),
        "badges": BADGE_LIST,
    }
    skipped = rules.skipped_because if rules is not None else "not asked"
    if not skipped:
        reading["robots"] = ("bizproc.robot.list", {})
    seen = client.batch(reading)
    report.requests += 1
    robot_errors = {key: str(error.description or error)
                    for key, error in seen.errors.items() if key == "robots"}
    # Badges and automation rules never fail the rest of the setup.
    if set(seen.errors) - {"robots", "badges"}:
        raise next(error for key, error in seen.errors.items()
                   if key not in ("robots", "badges"))
    commands = _missing(seen.results, settings, language, report)
    commands.update(_relabels(seen.results, language, report))
    if "badges" in seen.errors:
        report.badge_error = str(seen.errors["badges"].description or seen.errors["badges"])
    else:
        found_badges, report.added_badges = badge_commands(seen.results.get("badges"), language)
        commands.update(found_badges)
    wanted = None
    if rules is not None and not skipped and not robot_errors:
        wanted = robot_definitions(settings.public_url, int(rules.auth_user_id or 0))
        found, report.added_robots, report.updated_robots = robot_commands(
            seen.results.get("robots"), wanted, rules.registered)
        commands.update(found)
    if commands:
        done = client.batch(commands)
        report.requests += 1
        for key, error in done.errors.items():
            if key.startswith("robot_"):
                robot_errors[key] = str(error.description or error)
            elif key.startswith("badge_"):
                report.badge_error = str(error.description or error)
                report.added_badges = [c for c in report.added_badges if key != f"badge_{c}"]
            elif getattr(error, "code", "") != "ERROR_HANDLER_ALREADY_EXIST":
                raise error
    if rules is not None:
        report.robots = robot_record(wanted, auth_user_id=rules.auth_user_id,
                                      failed=robot_errors, skipped=skipped)
    return report


def relabel_status_field(client: PortalClient, language: str) -> SetupReport:
    """Label the status field's options on deals and leads in `language`, keeping their IDs
    (one batch reads the fields, one renames the options whose label differs)."""
    report = SetupReport()
    seen = client.batch({
        f"{entity}_field": (f"crm.{entity}.userfield.list",
                            {"filter": {"FIELD_NAME": STATUS_FIELD}})
        for entity in ENTITIES
    })
    report.requests += 1
    if seen.errors:
        raise next(iter(seen.errors.values()))
    commands = _relabels(seen.results, language, report)
    if commands:
        done = client.batch(commands)
        report.requests += 1
        if done.errors:
            raise next(iter(done.errors.values()))
    return report


def _relabels(seen: Mapping[str, Any], language: str,
              report: SetupReport) -> dict[str, tuple[str, dict[str, Any]]]:
    """Renames of the existing fields' options whose label is not `language`'s."""
    wanted = labels_for(language)
    by_code = {status.value: status for status in CrmTaskStatus}
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for entity in ENTITIES:
        fields = seen.get(f"{entity}_field") or []
        if not fields:
            continue
        renames = [
            {"ID": option["ID"], "VALUE": wanted[by_code[option.get("XML_ID")]]}
            for option in fields[0].get("LIST") or []
            if option.get("XML_ID") in by_code
            and option.get("VALUE") != wanted[by_code[option.get("XML_ID")]]
        ]
        if renames:
            commands[f"relabel_{entity}"] = (
                f"crm.{entity}.userfield.update",
                {"id": fields[0]["ID"], "fields": {"LIST": renames}},
            )
            report.relabelled_fields.append(f"{entity}.{STATUS_FIELD}")
    return commands


def _missing(
    seen: Mapping[str, Any], settings: Settings, language: str, report: SetupReport
) -> dict[str, tuple[str, dict[str, Any]]]:
    events_url = f"{settings.public_url}/bitrix/events"
    placement_url = f"{settings.public_url}/bitrix/placement"
    bound = {
        (str(item.get("event", "")).upper(), item.get("handler", ""), _is_offline(item))
        for item in seen.get("events") or []
    }
    commands: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in BOUND_EVENTS:
        if (name, events_url, False) not in bound:
            commands[f"on_{name}"] = ("event.bind", {"event": name, "handler": events_url})
            report.bound_events.append(name)
    # Bindings to another handler of this app are stale (PUBLIC_URL moved): the portal
    # would keep posting every event there too.
    for event, handler, offline in sorted(bound):
        if not offline and handler != events_url:
            commands[f"unbind_{event}_{len(commands)}"] = (
                "event.unbind", {"event": event, "handler": handler})
            report.unbound_events.append(f"{event} → {handler}")
    offline_bound = {event for event, _handler, offline in bound if offline}
    for name in OFFLINE_EVENTS:
        if name not in offline_bound:
            commands[f"off_{name}"] = (
                "event.bind",
                {"event": name, "event_type": "offline", "auth_connector": AUTH_CONNECTOR},
            )
            report.bound_offline.append(name)
    for entity in ENTITIES:
        if not seen.get(f"{entity}_field"):
            commands[f"field_{entity}"] = (f"crm.{entity}.userfield.add", _status_field(language))
            report.created_fields.append(f"{entity}.{STATUS_FIELD}")
    placed = {
        (str(item.get("placement", "")).upper(), item.get("handler", ""))
        for item in seen.get("placements") or []
    }
    for code, handler in sorted(placed):
        if code in PLACEMENTS and handler != placement_url:
            commands[f"unplace_{code}_{len(commands)}"] = (
                "placement.unbind", {"PLACEMENT": code, "HANDLER": handler})
            report.unbound_placements.append(f"{code} → {handler}")
    for code in PLACEMENTS:
        if (code, placement_url) not in placed:
            commands[f"place_{code}"] = (
                "placement.bind",
                {"PLACEMENT": code, "HANDLER": placement_url, "TITLE": APP_TITLE},
            )
            report.bound_placements.append(code)
    return commands


def _is_offline(item: Mapping[str, Any]) -> bool:
    return str(item.get("offline", "0")) in ("1", "true", "True", "Y")


def _status_field(language: str) -> dict[str, Any]:
    labels = [
        {"VALUE": label(status, language), "SORT": str((index + 1) * 10), "XML_ID": status.value}
        for index, status in enumerate(CrmTaskStatus)
    ]
    return {
        "fields": {
            "FIELD_NAME": STATUS_FIELD.removeprefix("UF_CRM_"),
            "USER_TYPE_ID": "enumeration",
            "XML_ID": STATUS_FIELD,
            "EDIT_FORM_LABEL": "TaskBridge status",
            "LIST_COLUMN_LABEL": "TaskBridge status",
            "LIST_FILTER_LABEL": "TaskBridge status",
            "SHOW_IN_LIST": "Y",
            "EDIT_IN_LIST": "N",
            "LIST": labels,
        }
    }


def refresh_setup(storage: Storage, settings: Settings, portal: Portal, *,
                  client: PortalClient | None = None) -> SetupReport:
    """Re-bind after an app update (the portal drops handlers and robots on update)."""
    client = client or PortalClient.for_portal(storage, settings, portal.member_id)
    registered = portal.robots or {}
    report = ensure_setup(client, settings, language=labels_language(portal),
                          rules=RobotSetup(portal.scope, registered.get("auth_user_id"),
                                           registered))
    if report.robots is not None:
        storage.portals.set_robots(portal.member_id, report.robots)
    return report


def _summary(report: SetupReport) -> str:
    rules = (report.robots or {}).get("state", "not asked")
    if not report.changed:
        return f"setup already complete; automation rules {rules}"
    return (
        f"bound {len(report.bound_events)} events, {len(report.bound_offline)} offline, "
        f"{len(report.created_fields)} fields, {len(report.bound_placements)} placements, "
        f"{len(report.relabelled_fields)} relabelled, {len(report.added_badges)} badges; "
        f"automation rules {rules} "
        f"({len(report.added_robots)} added, {len(report.updated_robots)} updated)"
    )

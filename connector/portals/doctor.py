"""`taskbridge doctor`: check one portal end to end, each finding with a fix hint.

Two REST requests at most (one `scope` call that also gives the portal's clock, one batch
for bindings, fields, placements and automation rules) plus one token refresh for an
installed app. Automation rules are optional: a portal that did not grant `bizproc` is
told how to get them, and is not a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.portals.install import PLACEMENTS, STATUS_FIELD
from connector.portals.robots import RULES, SCOPE
from connector.rest.client import PortalClient
from connector.rest.errors import BitrixError
from connector.rest.token_refresh import TokenRefresher
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.portals import INSTALLED
from mappers.portal_events import BOUND_EVENTS, OFFLINE_EVENTS

NEEDED_SCOPES = ("crm", "task", "placement", "user")
MAX_SKEW_SECONDS = 60.0
REINSTALL = "open the app once as a portal admin, or reinstall it (setup binds what is missing)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def diagnose(storage: Storage, settings: Settings, member_id: str, *,
             now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Check]:
    portal = storage.portals.get(member_id)
    checks = [Check("state", portal.state == INSTALLED, portal.state +
                    (f" ({portal.state_reason})" if portal.state_reason else ""),
                    "" if portal.state == INSTALLED else REINSTALL)]
    client = PortalClient.for_portal(storage, settings, member_id)
    try:
        try:
            answer = client.call("scope")
        except BitrixError as exc:
            checks.append(Check("reachability", False, str(exc),
                                f"check that {portal.client_endpoint} answers from this host"))
            return checks
        checks.append(Check("reachability", True, portal.client_endpoint))
        checks.append(_clock(answer.time, now()))
        checks.append(_refresh(storage, settings, portal))
        checks.append(_scopes(answer.result))
        if portal.auth_mode == "webhook":
            checks.append(Check("setup", True, "webhook mode: no event bindings or placements"))
            return checks
        checks.extend(_setup(client, settings, _granted(answer.result)))
    finally:
        client.close()
    return checks


def _clock(time_info: Any, now: datetime) -> Check:
    stamp = (time_info or {}).get("date_start") if isinstance(time_info, dict) else None
    if not stamp:
        return Check("clock", True, "the portal gave no time; skew not measured")
    try:
        theirs = datetime.fromisoformat(str(stamp))
    except ValueError:
        return Check("clock", True, f"unreadable portal time {stamp!r}; skew not measured")
    skew = (now - theirs).total_seconds()
    ok = abs(skew) <= MAX_SKEW_SECONDS
    return Check("clock", ok, f"skew {skew:+.1f}s",
                 "" if ok else "synchronise this host's clock (NTP); deadlines and overdue "
                               "sweeps depend on it")


def _refresh(storage: Storage, settings: Settings, portal: Any) -> Check:
    if portal.auth_mode == "webhook":
        return Check("token refresh", True, "webhook mode: nothing to refresh")
    try:
        fresh = TokenRefresher(storage, settings, portal.member_id).refresh(portal.token_version)
    except BitrixError as exc:
        return Check("token refresh", False, str(exc),
                     "check TASKBRIDGE_CLIENT_ID/CLIENT_SECRET/OAUTH_URL; " + REINSTALL)
    return Check("token refresh", True, f"token version {fresh.token_version}")


def _granted(result: Any) -> set[str]:
    return {str(s).lower() for s in result or []} if isinstance(result, list) else set()


def _scopes(result: Any) -> Check:
    have = _granted(result)
    missing = [s for s in NEEDED_SCOPES if s not in have]
    return Check("scopes", not missing,
                 f"missing {', '.join(missing)}" if missing else ", ".join(sorted(have)),
                 "add the scopes to the local application, then reinstall it" if missing else "")


def _setup(client: PortalClient, settings: Settings, scopes: set[str]) -> list[Check]:
    reading = {
        "events": ("event.get", {}),
        "placements": ("placement.get", {}),
        "deal_field": ("crm.deal.userfield.list", {"filter": {"FIELD_NAME": STATUS_FIELD}}),
        "lead_field": ("crm.lead.userfield.list", {"filter": {"FIELD_NAME": STATUS_FIELD}}),
    }
    if SCOPE in scopes:
        reading["robots"] = ("bizproc.robot.list", {})
    seen = client.batch(reading)
    found = seen.results
    checks = []
    events_url = f"{settings.public_url}/bitrix/events"
    rows = found.get("events") or []
    online = {str(r.get("event", "")).upper() for r in rows
              if r.get("handler") == events_url and not _offline(r)}
    offline = {str(r.get("event", "")).upper() for r in rows if _offline(r)}
    missing = [e for e in BOUND_EVENTS if e not in online]
    missing += [f"{e} (offline)" for e in OFFLINE_EVENTS if e not in offline]
    stale = sorted(f"{str(r.get('event', '')).upper()} → {r.get('handler')}" for r in rows
                   if not _offline(r) and r.get("handler") != events_url)
    checks.append(_listed("event bindings", seen.errors.get("events"), missing,
                          f"{len(BOUND_EVENTS)} online, {len(OFFLINE_EVENTS)} offline", stale))
    absent = [e for e in ("deal", "lead") if not found.get(f"{e}_field")]
    errors = seen.errors.get("deal_field") or seen.errors.get("lead_field")
    checks.append(_listed("status field", errors, [f"{e}.{STATUS_FIELD}" for e in absent],
                          STATUS_FIELD))
    placement_url = f"{settings.public_url}/bitrix/placement"
    placements = found.get("placements") or []
    placed = {str(r.get("placement", "")).upper() for r in placements
              if r.get("handler") == placement_url}
    elsewhere = sorted(f"{str(r.get('placement', '')).upper()} → {r.get('handler')}"
                       for r in placements if r.get("handler") != placement_url)
    checks.append(_listed("placements", seen.errors.get("placements"),
                          [p for p in PLACEMENTS if p not in placed], ", ".join(PLACEMENTS),
                          elsewhere))
    checks.append(_robots(seen, SCOPE in scopes))
    return checks


def _robots(seen: Any, granted: bool) -> Check:
    """TaskBridge's automation rules: registered, missing, or not offered without bizproc."""
    name = "automation rules"
    if not granted:
        return Check(name, True, "not offered: the portal did not grant the bizproc scope",
                     "to offer TaskBridge's automation rules, add bizproc to the local "
                     "application's scopes and reinstall it")
    listed = seen.results.get("robots")
    codes = {str(code) for code in listed} if isinstance(listed, list) else set()
    return _listed(name, seen.errors.get("robots"),
                   [code for code in RULES if code not in codes], ", ".join(RULES))


def _listed(name: str, error: BitrixError | None, missing: list[str], good: str,
            stale: list[str] | None = None) -> Check:
    """Missing entries and entries pointing at another handler (an old PUBLIC_URL)."""
    if error is not None:
        return Check(name, False, str(error), REINSTALL)
    problems = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        ([f"bound to another handler: {', '.join(stale)}"] if stale else [])
    if problems:
        return Check(name, False, "; ".join(problems), REINSTALL +
                     (" (setup also unbinds handlers that are not this PUBLIC_URL)"
                      if stale else ""))
    return Check(name, True, good)


def _offline(row: Any) -> bool:
    return str(row.get("offline", "0")) in ("1", "true", "True", "Y")

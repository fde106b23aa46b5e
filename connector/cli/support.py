"""`taskbridge portals|logs|replay|doctor`: what support staff and operators use."""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import click

from connector.cli import common
from connector.errors import TaskBridgeError
from connector.portals import doctor as doctor_checks
from connector.portals.badges import remove_badges
from connector.portals.settings import PortalSettingsError, apply_assignments, parse_assignment
from connector.portals.settings_change import (
    Funnel,
    change_settings,
    load_funnels,
    names_review_stage,
    validate,
)
from connector.rest.client import PortalClient
from connector.rest.endpoint_policy import check_endpoint
from connector.rest.errors import BitrixError
from connector.storage.engines import Storage
from connector.storage.journal import Journal
from connector.storage.journal_rows import PROCESSING, WAITING
from connector.storage.portals import Installation
from connector.storage.sync_log import STATES, LogFilter, LogRow, SyncLog, parse_item
from connector.sync.replay import replay_matching, replay_one

BACKLOG = (*WAITING, PROCESSING)

FOLLOW_LOOKBACK_IDS = 1000


class SupportError(click.ClickException):
    """A support command's input or target is wrong; one line, exit 1."""


class ProblemsFound(click.ClickException):
    """`doctor` found problems: the table said which; this line sums up."""


@click.group(invoke_without_command=True)
@click.pass_context
def portals(ctx: click.Context) -> None:
    """List installed portals: state, token age, last event, backlog."""
    if ctx.invoked_subcommand is not None:
        return
    storage = common.storage()
    rows = storage.portals.all()
    if not rows:
        click.echo("no portals installed")
        return
    backlog = _backlog(storage)
    now = datetime.now(UTC)
    click.echo(f"{'MEMBER_ID':<34} {'DOMAIN':<32} {'STATE':<16} {'TOKEN AGE':>10} "
               f"{'BACKLOG':>8} LAST EVENT")
    for portal in rows:
        age = _age(now, portal.token_refreshed_at)
        last = portal.last_event_at.isoformat(timespec="seconds") if portal.last_event_at else "-"
        state = portal.state + (f" ({portal.state_reason})" if portal.state_reason else "")
        click.echo(f"{portal.member_id:<34} {portal.domain:<32} {state:<16} {age:>10} "
                   f"{backlog.get(portal.id, 0):>8} {last}")


@portals.command("set")
@click.argument("member_id")
@click.argument("assignments", nargs=-1, required=True)
def portals_set(member_id: str, assignments: tuple[str, ...]) -> None:
    """Change a portal's settings: KEY=VALUE ... (lead_conversion_closes_tasks=on|off,
    deal_close_closes_tasks=on|off, review_stage.FUNNEL_ID=STAGE|none, language=en|it,
    rate_drain=N, rate_burst=N). A review stage must be a stage of that funnel on the
    portal, before won or lost; a new language relabels the status field on the portal.
    Each change is recorded in the sync log."""
    storage = common.storage()
    portal = storage.portals.get(member_id)
    client = PortalClient.for_portal(storage, common.settings(), member_id)
    try:  # a PortalSettingsError names the key and the problem: one line, exit 2
        pairs = [parse_assignment(text) for text in assignments]
        _settings, rates = apply_assignments(portal.settings, pairs)
        funnels = _funnels(client, pairs) if names_review_stage(pairs) else None
        new_settings = validate(portal.settings, pairs, funnels)
        change_settings(storage, client, member_id, new_settings, by="taskbridge portals set")
    finally:
        client.close()
    if rates:
        storage.portals.set_rate_limits(member_id, **rates)
    click.echo(f"{member_id}: {new_settings.model_dump_json()} {rates or ''}".rstrip())


def _funnels(client: PortalClient, pairs: list[tuple[str, str]]) -> list[Funnel]:
    """The portal's funnels and stages; a review stage is not set without them."""
    try:
        return load_funnels(client)
    except BitrixError as exc:
        keys = ", ".join(key for key, _ in pairs if key.startswith("review_stage."))
        raise PortalSettingsError(f"{keys}: the portal's stages could not be read "
                                  f"({exc.code or type(exc).__name__}); nothing changed") from None


@portals.command("add-webhook")
@click.argument("member_id")
@click.option("--webhook-url", required=True, help="The incoming webhook https://.../rest/1/CODE/")
@click.option("--application-token", required=True,
              help="The application token the portal's outgoing webhooks send.")
def portals_add_webhook(member_id: str, webhook_url: str, application_token: str) -> None:
    """Save a webhook-mode portal: calls go to the incoming webhook, and outgoing webhooks
    carrying the application token are accepted at /bitrix/events."""
    settings = common.settings()
    storage = common.storage()
    try:
        endpoint = check_endpoint(webhook_url, allow_insecure=settings.allow_insecure_portals)
    except TaskBridgeError as exc:
        raise SupportError(f"--webhook-url: {exc}") from None
    parts = urlsplit(endpoint)
    storage.portals.save(Installation(
        member_id=member_id, domain=parts.netloc,
        client_endpoint=f"{parts.scheme}://{parts.netloc}/rest/", auth_mode="webhook",
        webhook_url=endpoint, application_token=application_token,
    ))
    storage.portals.mark_installed(member_id)
    click.echo(f"{member_id}: webhook portal {parts.netloc} saved")


@portals.command("remove-badges")
@click.argument("member_id")
def portals_remove_badges(member_id: str) -> None:
    """Delete TaskBridge's kanban badges from a portal (before uninstalling it there: once
    uninstalled, the app can no longer call the portal)."""
    storage = common.storage()
    if storage.portals.find(member_id) is None:
        raise SupportError(f"{member_id}: no such portal")
    client = PortalClient.for_portal(storage, common.settings(), member_id)
    try:
        removed = remove_badges(client)
    except BitrixError as exc:
        raise SupportError(f"{member_id}: the portal refused ({exc.code or type(exc).__name__})"
                           ) from None
    click.echo(f"{member_id}: {len(removed)} badges removed")


def _filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--portal", "member_id", help="A portal's member_id."),
        click.option("--item", help="A CRM item: D_12, deal:12, L_5."),
        click.option("--task", type=int, help="A task id."),
        click.option("--event", help="An event name, e.g. ONTASKUPDATE."),
        click.option("--outcome", type=click.Choice(STATES), help="The row's state."),
        click.option("--since", type=click.DateTime(), help="Received at or after (UTC)."),
        click.option("--until", type=click.DateTime(), help="Received before (UTC)."),
        click.option("--text", help="Free text in payload, error or detail."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filter(storage: Storage, member_id: str | None, item: str | None, task: int | None,
            event: str | None, outcome: str | None, since: datetime | None,
            until: datetime | None, text: str | None) -> LogFilter:
    try:
        return LogFilter(
            portal_id=storage.portals.get(member_id).id if member_id else None,
            item=parse_item(item) if item else None, task=task,
            event=event.upper() if event else None, state=outcome,
            since=since.replace(tzinfo=UTC) if since else None,
            until=until.replace(tzinfo=UTC) if until else None, text=text,
        )
    except TaskBridgeError as exc:
        raise SupportError(str(exc)) from None


@click.command()
@_filter_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before", type=int, help="Only ids below this (the next page).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--follow", is_flag=True, help="Keep printing new matching rows.")
@click.option("--interval", default=1.0, show_default=True, type=float, hidden=True)
@click.option("--polls", default=0, type=int, hidden=True, help="Stop --follow after N polls.")
def logs(limit: int, before: int | None, as_json: bool, follow: bool, interval: float,
         polls: int, **filters: Any) -> None:
    """Search the sync log (portal, item, task, event, outcome, time, text)."""
    storage = common.storage()
    where = _filter(storage, **filters)
    log = SyncLog(storage.engine)
    rows = list(reversed(log.page(where, before=before, limit=limit).rows))
    show = _json_line if as_json else _table_line
    if not as_json:
        click.echo(f"{'ID':>8} {'RECEIVED':<20} {'EVENT':<24} {'OBJECT':<14} {'STATE':<10} "
                   f"{'TRIES':>5} OUTCOME/ERROR")
    for row in rows:
        click.echo(show(row))
    if not follow:
        return
    last = max((row.id for row in rows), default=0)
    # What the window already holds counts as shown: the first page printed only its newest.
    shown = {row.id for row in rows} | {
        r.id for r in log.iterate(where, after=max(0, last - FOLLOW_LOOKBACK_IDS))}
    done = 0
    while polls == 0 or done < polls:
        time.sleep(interval)
        done += 1
        # Ids are handed out before commit: with several writers (PostgreSQL) a row can
        # become visible after a higher id did, so each poll looks back a window of ids.
        floor = max(0, last - FOLLOW_LOOKBACK_IDS)
        fresh = sorted((r for r in log.iterate(where, after=floor) if r.id not in shown),
                       key=lambda r: r.id)
        for row in fresh:
            click.echo(show(row))
            shown.add(row.id)
            last = max(last, row.id)
        shown = {i for i in shown if i > last - FOLLOW_LOOKBACK_IDS}


def _json_line(row: LogRow) -> str:
    return json.dumps(row.as_dict(), ensure_ascii=False)


def _table_line(row: LogRow) -> str:
    note = row.error or row.outcome or ""
    return (f"{row.id:>8} {row.received_at.strftime('%Y-%m-%d %H:%M:%S'):<20} "
            f"{row.event[:24]:<24} {row.object_key[:14]:<14} {row.state:<10} "
            f"{row.attempts:>5} {note[:60]}")


@click.command()
@click.argument("ids", nargs=-1, type=int)
@_filter_options
@click.option("--dry-run", is_flag=True, help="Only say which events would be queued again.")
def replay(ids: tuple[int, ...], dry_run: bool, **filters: Any) -> None:
    """Replay failed or dead events, by id or by filter."""
    storage = common.storage()
    by = f"cli:{_user()}"
    if ids and any(value is not None for value in filters.values()):
        raise SupportError("give event ids or a filter, not both")
    try:
        if ids:
            replayed = [i for event_id in ids for i in
                        replay_one(storage.engine, event_id, by=by, dry_run=dry_run).ids]
        elif any(value is not None for value in filters.values()):
            replayed = replay_matching(storage.engine, _filter(storage, **filters), by=by,
                                       dry_run=dry_run).ids
        else:
            raise SupportError("give event ids or a filter (e.g. --outcome dead --portal ID)")
    except SupportError:
        raise
    except TaskBridgeError as exc:
        raise SupportError(str(exc)) from None
    verb = "would queue again" if dry_run else "queued again"
    shown = ", ".join(str(i) for i in replayed[:20]) + (" ..." if len(replayed) > 20 else "")
    click.echo(f"{verb}: {len(replayed)} event(s){': ' + shown if replayed else ''}")


@click.command()
@click.argument("member_id")
def doctor(member_id: str) -> None:
    """Check one portal: reachability, tokens, scopes, bindings, field, placements, clock."""
    storage = common.storage()
    checks = doctor_checks.diagnose(storage, common.settings(), member_id)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        hint = f"\n       fix: {check.hint}" if check.hint and not check.ok else ""
        click.echo(f"{mark} {check.name:<16} {check.detail}{hint}")
    problems = [c.name for c in checks if not c.ok]
    if problems:
        raise ProblemsFound(f"{len(problems)} problem(s): {', '.join(problems)}")


def _backlog(storage: Storage) -> dict[int, int]:
    return Journal(storage.engine).backlog(BACKLOG)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    seconds = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def register(cli: click.Group) -> None:
    for command in (portals, logs, replay, doctor):
        cli.add_command(command)

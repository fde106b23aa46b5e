"""`taskbridge portals|logs|replay|doctor`: what support staff and operators use."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import update

from connector.cli import common
from connector.portal_settings import apply_assignments, parse_assignment
from connector.schema import portals as portals_table


@click.group(invoke_without_command=True)
@click.pass_context
def portals(ctx: click.Context) -> None:
    """List installed portals: state, token age, last event."""
    if ctx.invoked_subcommand is not None:
        return
    store = common.storage().portals
    rows = store.all()
    if not rows:
        click.echo("no portals installed")
        return
    now = datetime.now(UTC)
    click.echo(f"{'MEMBER_ID':<34} {'DOMAIN':<32} {'STATE':<16} {'TOKEN AGE':>10} LAST EVENT")
    for portal in rows:
        age = _age(now, portal.token_refreshed_at)
        last = portal.last_event_at.isoformat(timespec="seconds") if portal.last_event_at else "-"
        state = portal.state + (f" ({portal.state_reason})" if portal.state_reason else "")
        click.echo(f"{portal.member_id:<34} {portal.domain:<32} {state:<16} {age:>10} {last}")


@portals.command("set")
@click.argument("member_id")
@click.argument("assignments", nargs=-1, required=True)
def portals_set(member_id: str, assignments: tuple[str, ...]) -> None:
    """Change a portal's settings: KEY=VALUE ... (e.g. close_tasks_on_lead_convert=false)."""
    storage = common.storage()
    portal = storage.portals.get(member_id)
    new_settings, rates = apply_assignments(
        portal.settings, [parse_assignment(text) for text in assignments]
    )
    storage.portals.update_settings(member_id, new_settings.model_dump(mode="json"))
    if rates:
        with storage.engine.begin() as conn:
            conn.execute(
                update(portals_table).where(portals_table.c.member_id == member_id).values(**rates)
            )
    click.echo(f"{member_id}: {new_settings.model_dump_json()} {rates or ''}".rstrip())


@click.command()
def logs() -> None:
    """Search the sync log (portal, item, task, event, outcome, time, text)."""
    raise common.NotAvailable("logs", "the sync log viewer comes with the admin surfaces")


@click.command()
def replay() -> None:
    """Replay failed or dead events, by id or filter."""
    raise common.NotAvailable("replay", "it needs the sync engine, which has not landed")


@click.command()
def doctor() -> None:
    """Check one portal: reachability, tokens, scopes, bindings, field, placements, clock."""
    raise common.NotAvailable("doctor", "it needs the REST client, which has not landed")


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

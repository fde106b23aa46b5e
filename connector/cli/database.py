"""`taskbridge db upgrade|current`."""

from __future__ import annotations

import click

from connector.cli import common
from connector.storage import engines
from connector.storage.engines import make_engine


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Apply the migrations up to REVISION (start-up does this too)."""
    engine = make_engine(common.settings().database_url)
    before = engines.current_revision(engine)
    after = engines.upgrade(engine, revision)
    click.echo(f"database schema: {before or 'empty'} -> {after}")


@db.command()
def current() -> None:
    """Show the schema revision and whether it is the newest."""
    engine = make_engine(common.settings().database_url)
    revision = engines.current_revision(engine)
    head = engines.head_revision()
    state = "up to date" if revision == head else f"behind (newest is {head})"
    click.echo(f"database schema: {revision or 'empty'}, {state}")


def register(cli: click.Group) -> None:
    cli.add_command(db)

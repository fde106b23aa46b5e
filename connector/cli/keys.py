"""`taskbridge keygen`: a new TASKBRIDGE_SECRET_KEY."""

from __future__ import annotations

import click

from connector.storage.token_cipher import new_key


@click.command()
def keygen() -> None:
    """Print a new Fernet key for TASKBRIDGE_SECRET_KEY."""
    click.echo(new_key())


def register(cli: click.Group) -> None:
    cli.add_command(keygen)

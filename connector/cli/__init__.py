"""The `taskbridge` command line: one module per command group."""

from __future__ import annotations

import sys

import click

from connector.cli import database, emulator_cmds, keys, portal_sync, serve, support, tasks
from connector.errors import TaskBridgeError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="b24-taskbridge", prog_name="taskbridge")
def cli() -> None:
    """TaskBridge: keeps Bitrix24 CRM tasks in their CRM statuses and writes them back."""


for group in (serve, database, emulator_cmds, support, portal_sync, keys, tasks):
    group.register(cli)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: known errors print one line and exit 2, no traceback."""
    try:
        cli.main(args=argv, prog_name="taskbridge", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TaskBridgeError as exc:
        click.echo(f"taskbridge: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)

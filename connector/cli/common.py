"""What every command shares: reading settings, opening storage, the one-line errors."""

from __future__ import annotations

import click

from connector.settings import Settings, load_settings
from connector.storage.engines import Storage, open_storage


def settings() -> Settings:
    return load_settings()


def storage(upgrade: bool = True) -> Storage:
    return open_storage(settings(), upgrade=upgrade)


host_option = click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")


def port_option(default: int) -> click.Option:
    return click.option(
        "--port", default=default, show_default=True, type=click.IntRange(0, 65535),
        help="TCP port (0 picks a free one).",
    )

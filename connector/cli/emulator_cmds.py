"""`taskbridge emulator|demo`: the local portal and the guided demo against it."""

from __future__ import annotations

import click

from connector.cli import common


@click.command()
@common.host_option
@common.port_option(8090)
@click.option("--webhook-code", default=None, help="Give admin user 1 the webhook /rest/1/CODE/.")
@click.option(
    "--limits", type=click.Choice(["on", "off"]), default="on", show_default=True,
    help="Enforce the portal's leaky bucket (2/s, 50 burst).",
)
@click.option("--https", is_flag=True, help="Serve HTTPS with a self-signed local CA.")
@click.option(
    "--task-card", type=click.Choice(["classic", "new"]), default="classic", show_default=True,
    help="The task card the portal shows (new: tasks 25.700.0, comments in the task chat).",
)
@click.option(
    "--rest-v3/--no-rest-v3", default=True, show_default=True,
    help="Offer REST 3.0 under /rest/api/; without it those calls answer 404, as on a "
         "portal that does not have it.",
)
def emulator(host: str, port: int, webhook_code: str | None, limits: str, https: bool,
             task_card: str, rest_v3: bool) -> None:
    """Serve a local Bitrix24 portal for tests, the demo and benchmarks."""
    from emulator import runner

    runner.serve(host=host, port=port, webhook_code=webhook_code, limits=limits == "on",
                 https=https, task_card=task_card, rest_v3=rest_v3)


def register(cli: click.Group) -> None:
    from connector.cli.demo import demo

    cli.add_command(emulator)
    cli.add_command(demo)

"""`taskbridge web|worker|run`: the processes of the Procfile."""

from __future__ import annotations

from pathlib import Path

import click

from connector.cli import common

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


@click.command()
@common.host_option
@common.port_option(8000)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def web(host: str, port: int, workers: int) -> None:
    """Serve install, events, placements, admin and health under gunicorn."""
    from gunicorn.app.base import BaseApplication

    from webhooks.app import create_app

    settings = common.settings()
    app = create_app(settings)  # migrates and checks the key before any worker forks

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            if GUNICORN_CONF.is_file():
                self.load_config_from_file(str(GUNICORN_CONF))
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)

        def load(self):  # type: ignore[no-untyped-def]
            return app

    _Server().run()


@click.command()
def worker() -> None:
    """Process the journal and run the scheduler (overdue sweep, catch-up, reconcile)."""
    raise common.NotAvailable("worker", "the sync engine has not landed")


@click.command()
@common.host_option
@common.port_option(8000)
def run(host: str, port: int) -> None:
    """Web and worker in one process, for a single portal on SQLite."""
    raise common.NotAvailable("run", "it needs the worker, which has not landed")


def register(cli: click.Group) -> None:
    for command in (web, worker, run):
        cli.add_command(command)

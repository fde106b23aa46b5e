"""`taskbridge web|worker|run`: the processes of the Procfile."""

from __future__ import annotations

import signal
from collections.abc import Callable
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
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 1000),
              help="Journal rows claimed at a time.")
@click.option("--no-scheduler", is_flag=True, help="Do not take part in running the jobs.")
def worker(batch_size: int, no_scheduler: bool) -> None:
    """Process the journal and run the scheduler (overdue sweep, catch-up, reconcile)."""
    from connector.observability.logging_setup import configure_logging
    from connector.scheduler.scheduler import Scheduler
    from connector.sync.worker import Worker

    settings = common.settings()
    configure_logging(settings)
    storage = common.storage()
    scheduler = None if no_scheduler else Scheduler(storage, settings)
    # A pass that stores an earlier deadline re-arms this process's deadline wake-up.
    runner = Worker(storage, settings, batch_size=batch_size,
                    on_deadline=scheduler.nudge if scheduler is not None else None)
    _stop_on_signals(runner.stop)
    if scheduler is not None:
        scheduler.start()
    click.echo(f"taskbridge worker {runner.worker_id} started", err=True)
    try:
        runner.run()
    finally:
        if scheduler is not None:
            scheduler.stop()
    click.echo("taskbridge worker stopped", err=True)


@click.command()
@common.host_option
@common.port_option(8000)
def run(host: str, port: int) -> None:
    """Web and worker in one process, for a single portal on SQLite."""
    import threading

    from werkzeug.serving import make_server

    from connector.scheduler.scheduler import Scheduler
    from connector.sync.worker import Worker
    from webhooks.app import create_app

    settings = common.settings()
    app = create_app(settings)
    storage = app.extensions["taskbridge.storage"]
    server = make_server(host, port, app, threaded=True)
    scheduler = Scheduler(storage, settings)
    runner = Worker(storage, settings, on_deadline=scheduler.nudge)

    def stop() -> None:
        runner.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    _stop_on_signals(stop)
    web_thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)
    web_thread.start()
    scheduler.start()
    bound = server.socket.getsockname()
    click.echo(f"taskbridge serving on http://{bound[0]}:{bound[1]} with its worker", err=True)
    try:
        runner.run()
    finally:
        scheduler.stop()
        server.shutdown()
        web_thread.join(timeout=10)


def _stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM (the process manager) and SIGINT (Ctrl-C) finish the current pass, then stop."""
    def handler(_signum: int, _frame: object) -> None:
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def register(cli: click.Group) -> None:
    for command in (web, worker, run):
        cli.add_command(command)

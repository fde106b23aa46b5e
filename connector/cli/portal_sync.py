"""`taskbridge portals sync MEMBER_ID`: read a portal's open tasks again (a backfill) and
watch it to the end: items done of all, REST requests spent, the time left.

The backfill runs in the worker like any other work; this command only queues it (or
joins the one already running) and reads its progress from storage, so stopping the
command stops nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

import click
from tqdm import tqdm

from connector.cli import common
from connector.cli.support import portals
from connector.storage.engines import Storage
from connector.storage.portals import INSTALLED
from connector.sync.backfill import BackfillProgress, backfill_progress, request_backfill

FINISHED = ("done", "failed")
# After this long still queued, say once that only a running worker moves a backfill.
QUEUED_HINT_SECONDS = 15.0


class BackfillFailed(click.ClickException):
    """The backfill ended in failure; its error is the message. Exit 1."""


@click.command("sync")
@click.argument("member_id")
@click.option("--no-wait", is_flag=True,
              help="Only queue the backfill (or join the running one), then return.")
@click.option("--progress", "style", type=click.Choice(["auto", "bar", "lines"]),
              default="auto", show_default=True,
              help="A progress bar, or plain lines (for logs); auto: a bar on a terminal.")
@click.option("--interval", default=0.5, type=click.FloatRange(0.05, 60), hidden=True,
              help="Seconds between progress reads.")
def portals_sync(member_id: str, no_wait: bool, style: str, interval: float) -> None:
    """Read every open task bound to a lead or deal again and give each item its status
    (a backfill, as at install); shows its progress until it ends."""
    storage = common.storage()
    portal_id = _installed_portal_id(storage, member_id)
    backfill_id = request_backfill(storage, portal_id, requested_by="taskbridge portals sync")
    click.echo(f"{member_id}: backfill {backfill_id} queued")
    if no_wait:
        return
    bar = style == "bar" or (style == "auto" and _is_terminal(sys.stderr))
    try:
        final = watch(lambda: backfill_progress(storage, portal_id), interval=interval,
                      bar=bar, out=sys.stderr)
    except KeyboardInterrupt:  # only the watching stops: the worker goes on
        click.echo(f"{member_id}: stopped watching; the backfill goes on in the worker "
                   f"(`taskbridge portals sync {member_id}` watches it again)", err=True)
        raise click.exceptions.Exit(130) from None
    click.echo(f"{member_id}: {summary(final)}")
    if final.state == "failed":
        raise BackfillFailed(f"{member_id}: the backfill failed: {final.error or 'no reason'}")


def _installed_portal_id(storage: Storage, member_id: str) -> int:
    """The portal's id; a usage error naming MEMBER_ID when it is unknown or not installed."""
    portal = storage.portals.find(member_id)
    if portal is None:
        raise click.BadParameter(f"no portal with member_id {member_id!r} "
                                 "(see `taskbridge portals`)", param_hint="MEMBER_ID")
    if portal.state != INSTALLED:
        raise click.BadParameter(f"portal {member_id!r} is {portal.state}, not installed: "
                                 "nothing can be read from it", param_hint="MEMBER_ID")
    return portal.id


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def watch(read: Callable[[], BackfillProgress | None], *, interval: float, bar: bool,
          out: IO[str]) -> BackfillProgress:
    """Poll `read` until the backfill is done or failed, showing each change; the last."""
    shown = _Bar(out) if bar else _Lines(out)
    waited_since = time.monotonic()
    hinted = False
    try:
        while True:
            progress = read()
            if progress is not None:
                shown.update(progress, datetime.now(UTC))
                if progress.state in FINISHED:
                    return progress
                if progress.state == "queued" and not hinted and \
                        time.monotonic() - waited_since > QUEUED_HINT_SECONDS:
                    shown.note("still queued: a running `taskbridge worker` starts it")
                    hinted = True
            time.sleep(interval)
    finally:
        shown.close()


def eta_text(progress: BackfillProgress, now: datetime) -> str:
    seconds = progress.eta_seconds(now)
    if seconds is None:
        return "?"
    seconds = max(0, round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def line(progress: BackfillProgress, now: datetime) -> str:
    """One plain progress line: state, items done of all, requests, time left."""
    total = "?" if progress.items_total is None else str(progress.items_total)
    return (f"backfill {progress.state}: {progress.items_done}/{total} items, "
            f"{progress.requests_spent} REST requests, {progress.tasks_seen} tasks read, "
            f"about {eta_text(progress, now)} left")


def summary(progress: BackfillProgress) -> str:
    took = ""
    if progress.started_at and progress.finished_at:
        took = f" in {(progress.finished_at - progress.started_at).total_seconds():.0f} s"
    return (f"backfill {progress.state}: {progress.items_done} items from "
            f"{progress.tasks_seen} tasks{took}, {progress.requests_spent} REST requests")


class _Lines:
    """Plain lines, one per change (logs, pipes, CI)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.last: tuple[object, ...] | None = None

    def update(self, progress: BackfillProgress, now: datetime) -> None:
        key = (progress.state, progress.items_done, progress.items_total,
               progress.requests_spent, progress.tasks_seen)
        if key != self.last:
            self.last = key
            print(line(progress, now), file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def close(self) -> None:
        """Nothing to close."""


class _Bar:
    """A tqdm bar: items done of all; the backfill's own requests and time left after it
    (its estimate knows the portal's rate limit; tqdm's own would not)."""

    FORMAT = ("{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} items "
              "[{elapsed}{postfix}]")

    def __init__(self, out: IO[str]) -> None:
        self.tqdm = tqdm(total=None, desc="backfill", unit="item", file=out,
                         bar_format=self.FORMAT, dynamic_ncols=True, mininterval=0)

    def update(self, progress: BackfillProgress, now: datetime) -> None:
        bar = self.tqdm
        if progress.items_total is not None and bar.total != progress.items_total:
            bar.total = progress.items_total
        bar.n = progress.items_done
        bar.set_description_str(f"backfill {progress.state}", refresh=False)
        bar.set_postfix_str(f"{progress.requests_spent} requests, ETA "
                            f"{eta_text(progress, now)}", refresh=False)
        bar.refresh()

    def note(self, text: str) -> None:
        self.tqdm.write(text, file=self.tqdm.fp)

    def close(self) -> None:
        self.tqdm.close()


def register(cli: click.Group) -> None:
    """`sync` is a subcommand of `portals` (support.py)."""
    portals.add_command(portals_sync)

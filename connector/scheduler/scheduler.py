"""Jobs that find what no event reports, run on one elected worker at a time
(`connector.storage.locks`), one module each:

- overdue at the deadline (`deadlines`): a date job armed at the earliest deadline of an
  open task queues a re-check of the tasks due when it passes, and re-arms; a short
  interval re-reads the earliest deadline from the database, and a pass of this process
  that stores one nudges it (`nudge`);
- the overdue sweep (`overdue`): open tasks past their deadline are queued for a re-check
  (the safety net of the above);
- the offline catch-up (`offline_catch_up`): events the portal kept in its offline queue
  (deliveries that never reached us) are journaled, then cleared;
- the reconcile pass (`reconcile`): what changed on each portal since its last pass is
  re-checked, and a few of the open tasks checked longest ago;
- retention (`retention`): the sync log forgets old events;
- responsible views (`views`): asked with the responsible's own token, a task seen by them.

Each job only queues journal rows: the worker does the fetching and deciding, so a job
costs at most a few REST calls itself. Every run is recorded in `scheduler_runs` (`jobs`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from connector.scheduler.deadlines import DeadlineWatch
from connector.scheduler.jobs import JobResult, run_job
from connector.scheduler.offline_catch_up import offline_catch_up
from connector.scheduler.overdue import overdue_sweep
from connector.scheduler.reconcile import reconcile
from connector.scheduler.retention import retention
from connector.scheduler.views import poll_views
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.locks import Leadership

log = logging.getLogger(__name__)


WAKE_JOB = "deadline_wake"
RECHECK_JOB = "deadline_recheck"


class Scheduler:
    """Runs the jobs on an interval in a background thread while this process leads."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.storage = storage
        self.settings = settings
        self.leadership = Leadership(storage.engine)
        self._lock = threading.Lock()
        # The deadline jobs take turns on a lock of their own: a long reconcile pass must
        # not hold a wake-up back. The leadership probe is shared, so it has its own lock.
        self._deadline_lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._stopped = False
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._alarm_lock = threading.Lock()
        self._wake_job: str | None = None
        self._alarms = 0
        self.deadlines = DeadlineWatch(storage, self._arm)
        jobs = {
            "overdue_sweep": (lambda: overdue_sweep(storage), settings.overdue_sweep_interval),
            "offline_catch_up": (lambda: offline_catch_up(storage, settings),
                                 settings.reconcile_interval // 3 or 60),
            "reconcile": (lambda: reconcile(storage, settings), settings.reconcile_interval),
            "retention": (lambda: retention(storage, settings), 3600),
            "responsible_views": (lambda: poll_views(storage, settings),
                                  max(60, settings.overdue_sweep_interval // 5)),
        }
        for name, (job, seconds) in jobs.items():
            self._scheduler.add_job(self._guarded(name, job), "interval", seconds=seconds,
                                    id=name, next_run_time=datetime.now(UTC),
                                    max_instances=1, coalesce=True)
        self._scheduler.add_job(self._recheck, "interval",
                                seconds=settings.deadline_recheck_seconds, id=RECHECK_JOB,
                                next_run_time=datetime.now(UTC), max_instances=1, coalesce=True)

    def _guarded(self, name: str, job: Callable[[], int | JobResult],
                 lock: threading.Lock | None = None) -> Callable[[], None]:
        def run() -> None:
            with lock or self._lock:
                if self._leads():
                    run_job(self.storage.engine, name, job)
        return run

    def _leads(self) -> bool:
        with self._probe_lock:
            # A job still waiting for its turn when the scheduler stopped must not take
            # the leadership back after `stop` gave it up.
            return not self._stopped and self.leadership.is_leader()

    def _recheck(self) -> None:
        """Re-arm from the database (a query, no REST call); unrecorded, as it decides
        nothing. A failure is logged and the next interval tries again."""
        with self._deadline_lock:
            if not self._leads():
                return
            try:
                self.deadlines.recheck()
            except Exception:
                log.exception("re-reading the next deadline failed")

    def _arm(self, at: datetime | None) -> None:
        """Set the wake-up at `at` (at once if it has passed), or clear it."""
        from apscheduler.jobstores.base import JobLookupError

        # Each alarm is a job of its own: a wake-up re-arms while its own job is still
        # being retired by APScheduler, which must not take the new alarm with it.
        with self._alarm_lock:
            previous, self._wake_job = self._wake_job, None
            if at is not None:
                self._alarms += 1
                self._wake_job = f"{WAKE_JOB}:{self._alarms}"
                # A deadline that passed while nobody led runs at once: no misfire limit.
                self._scheduler.add_job(
                    self._guarded(WAKE_JOB, self.deadlines.wake, self._deadline_lock), "date",
                    run_date=max(at, datetime.now(UTC)), id=self._wake_job,
                    misfire_grace_time=None)
            if previous is not None:
                # Gone already when it ran: a date job leaves once it has fired.
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(previous)

    def nudge(self, portal_id: int, deadline: datetime) -> None:
        """A sync pass of this process stored `deadline` for a task of `portal_id`."""
        self.deadlines.nudge(portal_id, deadline)

    @property
    def next_wake(self) -> datetime | None:
        """When the deadline wake-up runs next (None: no deadline ahead)."""
        with self._alarm_lock:
            job = self._scheduler.get_job(self._wake_job) if self._wake_job else None
        return None if job is None else job.next_run_time

    def start(self, *, paused: bool = False) -> None:
        """Start the jobs (`paused`: a wake-up can be armed, but no job runs)."""
        self._scheduler.start(paused=paused)

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with self._probe_lock:
            self._stopped = True
            self.leadership.resign()

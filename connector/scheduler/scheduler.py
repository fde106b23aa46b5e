"""Jobs that find what no event reports, run on one elected worker at a time
(`connector.storage.locks`), one module each:

- the overdue sweep (`overdue`): open tasks past their deadline are queued for a re-check;
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

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from connector.scheduler.jobs import JobResult, run_job
from connector.scheduler.offline_catch_up import offline_catch_up
from connector.scheduler.overdue import overdue_sweep
from connector.scheduler.reconcile import reconcile
from connector.scheduler.retention import retention
from connector.scheduler.views import poll_views
from connector.settings import Settings
from connector.storage.engines import Storage
from connector.storage.locks import Leadership


class Scheduler:
    """Runs the jobs on an interval in a background thread while this process leads."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.storage = storage
        self.settings = settings
        self.leadership = Leadership(storage.engine)
        self._lock = threading.Lock()
        self._scheduler = BackgroundScheduler(timezone=UTC)
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

    def _guarded(self, name: str, job: Callable[[], int | JobResult]) -> Callable[[], None]:
        def run() -> None:
            with self._lock:
                if self.leadership.is_leader():
                    run_job(self.storage.engine, name, job)
        return run

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
        self.leadership.resign()

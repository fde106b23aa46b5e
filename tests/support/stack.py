"""The test vocabulary: an emulated portal and TaskBridge, both on real loopback servers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.settings import Settings, load_settings
from connector.storage.engines import Storage, open_storage
from connector.storage.journal import Journal
from connector.storage.portals import Portal as StoredPortal
from connector.storage.snapshots import SnapshotStore
from connector.sync.worker import Worker
from emulator import Portal
from emulator.server import RunningServer, serve_in_thread
from tests.support.live_server import LiveServer, serve_later
from webhooks.app import create_app

CLIENT_ID = "local.taskbridge.0001"
CLIENT_SECRET = "client-secret-for-tests"


@dataclass
class EmulatedPortal:
    """The portal emulator and its server; `as_user(uid)` acts as a portal user."""

    emulator: Portal
    server: RunningServer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.emulator, name)

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def emulated_portal(**options: Any) -> Iterator[EmulatedPortal]:
    emulator = Portal(**options)
    server = serve_in_thread(emulator)
    try:
        yield EmulatedPortal(emulator=emulator, server=server)
    finally:
        server.stop()
        emulator.close()


@dataclass
class TaskBridge:
    """TaskBridge's web app serving on loopback, configured for one emulated portal."""

    portal: EmulatedPortal
    settings: Settings
    storage: Storage
    server: LiveServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def journal(self) -> Journal:
        return Journal(self.storage.engine)

    @property
    def journal_table(self) -> Any:
        from connector.storage.schema import journal

        return journal

    def install(self, how: str = "page") -> StoredPortal:
        """Install TaskBridge into the portal the way an admin does, and finish it."""
        emulator = self.portal.emulator
        emulator.install_app(CLIENT_ID, how=how, handler_url=f"{self.url}/bitrix/install")
        if how == "event":
            emulator.wait_for_deliveries(
                lambda sent: any(d.event == "ONAPPINSTALL" and d.status for d in sent),
                timeout=10,
            )
        emulator.finish_install(CLIENT_ID)
        return self.stored()

    def stored(self) -> StoredPortal:
        return self.storage.portals.get(self.portal.member_id)

    def worker(self, now: datetime | None = None) -> Worker:
        clock = (lambda: now) if now is not None else None
        return Worker(self.storage, self.settings, batch_size=50, clock=clock)

    def drain(self, rounds: int = 10, *, now: datetime | None = None) -> int:
        """Let every event the portal sent land, then process until nothing is left.

        TaskBridge's own writes come back as events, so this repeats until a round
        handles nothing. Returns the REST calls TaskBridge made meanwhile.
        """
        calls_before = self.rest_calls
        worker = self.worker(now)
        for _ in range(rounds):
            assert self.portal.emulator.sender.wait_idle(timeout=10), "events still in flight"
            if worker.run(until_idle=True) == 0:
                break
        else:
            raise AssertionError(f"the journal did not settle in {rounds} rounds")
        return self.rest_calls - calls_before

    def open_tab(self, user_id: int, placement: str, options: dict[str, Any]) -> Any:
        """What the portal does when `user_id` opens one of TaskBridge's tabs."""
        import json

        import requests

        tokens = self.portal.emulator.issue_tokens(CLIENT_ID, user_id)
        return requests.post(
            f"{self.url}/bitrix/placement",
            params={"DOMAIN": self.portal.domain, "PROTOCOL": "0", "LANG": "en"},
            data={"AUTH_ID": tokens.access_token, "AUTH_EXPIRES": "3600",
                  "REFRESH_ID": tokens.refresh_token, "member_id": self.portal.member_id,
                  "status": "L", "PLACEMENT": placement,
                  "PLACEMENT_OPTIONS": json.dumps(options)},
            timeout=10,
        )

    @contextmanager
    def worker_process(self, **overrides: Any) -> Iterator[Worker]:
        """The worker and its scheduler running in threads as `taskbridge worker` runs
        them (a pass nudges the scheduler's deadline wake-up), on this stack's settings
        with `overrides`; stopped when the block ends."""
        import threading

        from connector.scheduler.scheduler import Scheduler

        settings = self.settings.model_copy(update=overrides)
        scheduler = Scheduler(self.storage, settings)
        runner = Worker(self.storage, settings, on_deadline=scheduler.nudge)
        thread = threading.Thread(target=runner.run, name="worker", daemon=True)
        scheduler.start()
        thread.start()
        try:
            yield runner
        finally:
            runner.stop()
            thread.join(timeout=30)
            scheduler.stop()

    @property
    def app_calls(self) -> int:
        """Requests TaskBridge itself sent to the portal, whoever else called it."""
        return sum(1 for call in self.portal.emulator.call_log.records()
                   if call.client_id == CLIENT_ID and not call.in_batch)

    @property
    def rest_calls(self) -> int:
        """Requests TaskBridge sent to the portal (a batch counts once)."""
        return self.portal.emulator.call_log.count()

    def task_status(self, task_id: int) -> str | None:
        stored = SnapshotStore(self.storage.engine).tasks(self.stored().id, [task_id])
        status = stored[task_id].crm_status if task_id in stored else None
        return status.value if status else None


@contextmanager
def taskbridge_for(portal: EmulatedPortal, database_url: str, secret_key: str,
                   **overrides: Any) -> Iterator[TaskBridge]:
    with serve_later() as live:
        settings = load_settings(
            database_url=database_url,
            secret_key=secret_key,
            public_url=live.url,
            oauth_url=portal.url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            allow_insecure_portals=True,
            http_timeout=10,
            worker_coalesce_seconds=0,
            **overrides,
        )
        storage = open_storage(settings)
        live.mount.app = create_app(settings, storage)
        portal.emulator.register_app(CLIENT_ID, CLIENT_SECRET,
                                     handler_url=f"{live.url}/bitrix/install")
        yield TaskBridge(portal=portal, settings=settings, storage=storage, server=live)
        storage.engine.dispose()

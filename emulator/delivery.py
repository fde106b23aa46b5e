"""Sends event POSTs from a background thread, best effort, and logs each attempt."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from emulator import php_form

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """One event POST: where, what, and how it went."""

    event: str
    handler: str
    payload: dict[str, Any]
    offline: bool = False
    status: int | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    # called once the POST ended, before ``done`` is set (a robot's workflow goes on)
    on_done: Callable[[Delivery], None] | None = field(default=None, repr=False)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class EventSender:
    """A queue drained by one daemon thread; a failed POST is logged and dropped."""

    def __init__(self, timeout: float = 5.0, verify: bool | str = True) -> None:
        self.timeout = timeout
        self.verify = verify
        self.log: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    def submit(self, delivery: Delivery) -> None:
        with self._lock:
            self.log.append(delivery)
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="emulator-events", daemon=True
                )
                self._thread.start()
        self._queue.put(delivery)

    def post_now(self, delivery: Delivery) -> Delivery:
        """Send synchronously (the install page POST, which a browser makes)."""
        with self._lock:
            self.log.append(delivery)
        self._send(delivery)
        return delivery

    def wait_idle(self, timeout: float = 5.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=5)

    def clear(self) -> None:
        with self._lock:
            self.log.clear()

    def _run(self) -> None:
        session = requests.Session()
        try:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    return
                self._send(delivery, session)
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
        finally:
            session.close()

    def _send(self, delivery: Delivery, session: requests.Session | None = None) -> None:
        poster = session or requests
        try:
            response = poster.post(
                delivery.handler,
                data=php_form.encode(delivery.payload),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": "Bitrix24 Webhook Engine",
                },
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
            delivery.status = response.status_code
            response.close()
        except requests.RequestException as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.warning("event %s to %s dropped: %s", delivery.event, delivery.handler, exc)
        finally:
            if delivery.on_done is not None:
                try:
                    delivery.on_done(delivery)
                except Exception:  # the sender thread must outlive a callback's bug
                    log.exception("after-delivery step of %s failed", delivery.event)
            delivery.done.set()

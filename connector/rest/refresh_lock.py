"""One token refresh at a time per portal, across the threads and processes of a database.

In a process, a `threading.Lock` per portal. Across processes: on PostgreSQL a
transaction-scoped advisory lock (released by the server if the holder dies); on SQLite a
lease row in `rest_refresh_leases`, taken with one conditional write and given up after
`ttl` seconds if its holder vanished.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from connector.errors import RestError
from connector.storage.engines import Engine
from connector.storage.locks import advisory_transaction_lock
from connector.storage.rest_state import (
    create_refresh_lease,
    release_refresh_lease,
    take_refresh_lease,
)

_THREAD_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()
POLL = 0.02


class RefreshLockTimeout(RestError):
    """Another process held `member_id`'s refresh lease longer than the wait allowed:
    the call fails now and is tried again later, when the lease is free or expired."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"refresh lease for {member_id} not released")
        self.member_id = member_id


def thread_lock(engine: Engine, member_id: str) -> threading.Lock:
    """The process-wide lock for refreshing one portal's tokens."""
    key = (engine.url.render_as_string(hide_password=True), member_id)
    with _REGISTRY_LOCK:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


def advisory_key(member_id: str) -> int:
    digest = hashlib.sha256(f"taskbridge-refresh:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def process_lock(engine: Engine, member_id: str, ttl: float = 30.0) -> Iterator[None]:
    """Hold the cross-process refresh lock for `member_id` while the block runs."""
    if engine.dialect.name == "postgresql":
        with advisory_transaction_lock(engine, advisory_key(member_id)):
            yield
        return
    holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    _take_lease(engine, member_id, holder, ttl)
    try:
        yield
    finally:
        release_refresh_lease(engine, member_id, holder)


def _take_lease(engine: Engine, member_id: str, holder: str, ttl: float) -> None:
    create_refresh_lease(engine, member_id)
    deadline = time.monotonic() + ttl * 2
    while True:
        if take_refresh_lease(engine, member_id, holder, time.time(), ttl):
            return
        if time.monotonic() > deadline:
            raise RefreshLockTimeout(member_id)
        time.sleep(POLL)  # another process is refreshing; it takes one OAuth round trip

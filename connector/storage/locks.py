"""Locks the database gives: one writer at a time on a SQLite file, a transaction that
serialises writers, and PostgreSQL's transaction-scoped advisory lock.

One writer at a time on a SQLite file, handed over by the kernel instead of by polling.

SQLite lets one connection write at a time; a connection that finds the file locked
sleeps and retries (1, 2, 5 ... up to 100 ms between tries), so when the two web workers
journal events at once, one of them often sleeps long after the other has finished. The
receiver takes this lock (`flock` on `<database>.write-lock`) around its write instead:
a waiting process wakes the moment the holder lets go. Writers that do not take it are
still safe, SQLite's own lock still decides; they only wait the old way.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, Engine

_LOCKS: dict[str, WriteLock] = {}
_LOCKS_GUARD = threading.Lock()


class WriteLock:
    """A process-wide exclusive lock on one file; threads of a process take turns first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        # A descriptor inherited across fork shares its lock with the parent: reopen.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd


def write_lock(engine: Engine) -> AbstractContextManager[None]:
    """The lock for this engine's SQLite file, held while in the `with`; none otherwise."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return nullcontext()
    path = os.path.abspath(database) + ".write-lock"
    with _LOCKS_GUARD:
        lock = _LOCKS.get(path)
        if lock is None:
            lock = _LOCKS[path] = WriteLock(path)
    return lock.held()


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that serialises writers: plain on PostgreSQL (pair it with FOR UPDATE
    or an advisory lock), `BEGIN IMMEDIATE` on SQLite (takes the write lock up front)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


@contextmanager
def advisory_transaction_lock(engine: Engine, key: int) -> Iterator[None]:
    """PostgreSQL's advisory lock `key`, held by a transaction open while the block runs
    (the server releases it if the holder dies)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))
        yield

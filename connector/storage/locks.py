"""Locks the database gives.

- `write_lock`: one writer at a time on a SQLite file, handed over by the kernel instead
  of by polling. SQLite lets one connection write at a time; a connection that finds the
  file locked sleeps and retries (1, 2, 5 ... up to 100 ms between tries), so when the two
  web workers journal events at once, one of them often sleeps long after the other has
  finished. The receiver takes this lock (`flock` on `<database>.write-lock`) around its
  write instead: a waiting process wakes the moment the holder lets go. Writers that do
  not take it are still safe, SQLite's own lock still decides; they only wait the old way.
- `locked_transaction`, a transaction that serialises writers, and
  `advisory_transaction_lock`, PostgreSQL's transaction-scoped advisory lock.
- `Leadership`: which worker runs the scheduler: on PostgreSQL the holder of an advisory
  lock, on a SQLite file the holder of an exclusive `flock` on `<database>.scheduler-lock`.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

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


# -- leadership --------------------------------------------------------------------------

LEADER_LOCK = 727274002
# A single bigint advisory key shows in pg_locks as classid 0, objid the key, objsubid 1.
_HOLDS_LEADER_LOCK = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    f" AND classid = 0 AND objid = {LEADER_LOCK} AND objsubid = 1"
    " AND pid = pg_backend_pid()"
)


class Leadership:
    """Who runs the jobs: on PostgreSQL the holder of an advisory lock; on SQLite the
    process holding the file lock (the kernel drops it when that process dies, and the next
    probe of another worker takes it).

    The lock is a session lock held on a connection of its own, in autocommit: the
    liveness probe then opens no transaction, so a server's
    `idle_in_transaction_session_timeout` never ends the session (and the leadership).
    When the session dies, the lock goes with it and another worker takes over.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None
        self._lock_fd: int | None = None

    def is_leader(self) -> bool:
        if self._engine.dialect.name == "sqlite":
            return self._holds_file_lock()
        if self._engine.dialect.name != "postgresql":
            return True
        if self._connection is not None:
            try:
                if self._connection.exec_driver_sql(_HOLDS_LEADER_LOCK).scalar():
                    return True
                self._connection.close()  # alive, yet the lock is gone: try afresh
            except Exception:  # the session died, and the lock with it
                self._connection.invalidate()
            self._connection = None
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({LEADER_LOCK})").scalar()
        except Exception:
            connection.invalidate()
            raise
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def resign(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor lets the lock go
            self._lock_fd = None

    def _holds_file_lock(self) -> bool:
        database = self._engine.url.database
        if not database or database == ":memory:":
            return True  # a private database: nobody else can run its jobs
        if self._lock_fd is not None:
            return True
        fd = os.open(os.path.abspath(database) + ".scheduler-lock", os.O_RDWR | os.O_CREAT,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

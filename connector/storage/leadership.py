"""Which worker runs the scheduler: on PostgreSQL the holder of an advisory lock, on a
SQLite file the holder of an exclusive `flock` on `<database>.scheduler-lock`."""

from __future__ import annotations

import fcntl
import os
from typing import Any

from sqlalchemy import Engine

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

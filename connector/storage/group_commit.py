"""Journal writes shared by the events that arrive together (group commit).

Each request queues its event, then takes the commit lock. Whoever holds the lock writes
every event queued so far in one transaction; a request whose event was written while
it waited returns at once. No request is answered before its own event is committed,
and under load one commit (and on SQLite one turn at the single write lock) serves
several requests instead of one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, OperationalError

from connector.storage.journal import Journal
from connector.storage.journal_rows import Arrival, Recorded

MAX_BATCH = 100


@dataclass
class _Slot:
    arrival: Arrival
    recorded: Recorded | None = None
    error: BaseException | None = None
    finished: bool = field(default=False)

    def outcome(self) -> Recorded:
        if self.error is not None:
            raise self.error
        assert self.recorded is not None
        return self.recorded


class GroupCommit:
    """`record()` as `Journal.record_many` of everything waiting, one caller at a time."""

    def __init__(self, journal: Journal, max_batch: int = MAX_BATCH) -> None:
        self._journal = journal
        self._max_batch = max_batch
        self._queued: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def record(self, arrival: Arrival) -> Recorded:
        """Journal one event; returns once it is committed (or raises why it is not)."""
        slot = _Slot(arrival)
        with self._queue_lock:
            self._queued.append(slot)
        with self._commit_lock:
            while not slot.finished:
                with self._queue_lock:
                    batch = self._queued[: self._max_batch]
                    del self._queued[: self._max_batch]
                self._write(batch)
        return slot.outcome()

    def _write(self, batch: list[_Slot]) -> None:
        try:
            recorded = self._journal.record_many([slot.arrival for slot in batch])
        except Exception as exc:
            if len(batch) == 1 or _database_down(exc):
                for slot in batch:
                    slot.error, slot.finished = exc, True
                return
            # One event the database refuses must not cost the others their place.
            for slot in batch:
                self._write([slot])
            return
        except BaseException as exc:  # the leader is interrupted: its followers must not wait
            for slot in batch:
                slot.error, slot.finished = exc, True
            raise
        for slot, outcome in zip(batch, recorded, strict=True):
            slot.recorded, slot.finished = outcome, True


def _database_down(error: BaseException) -> bool:
    """The database itself failed (locked, gone): every event in the batch would fail."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )

"""On PostgreSQL one worker at a time runs the schedule: the holder of an advisory lock.
Another takes over when the leader's session dies, and the leader's idle session is never
"idle in transaction" (a server timeout on such sessions would end the leadership)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from connector.scheduler.scheduler import Scheduler
from connector.settings import Settings
from connector.storage.engines import Storage, open_storage
from connector.storage.locks import LEADER_LOCK

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_workers(pg_url: str, make_settings: Callable[..., Settings]) -> Iterator[
        tuple[Scheduler, Scheduler, Engine]]:
    """Two workers' schedulers (not started), each with its own engine, and an onlooker's."""
    settings = make_settings(database_url=pg_url)
    storages: list[Storage] = [open_storage(settings), open_storage(settings)]
    first, second = (Scheduler(storage, settings) for storage in storages)
    onlooker = open_storage(settings).engine
    yield first, second, onlooker
    for scheduler, storage in zip((first, second), storages, strict=True):
        scheduler.leadership.resign()
        storage.engine.dispose()
    onlooker.dispose()


def _lock_holders(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objid = :key"), {"key": LEADER_LOCK}).scalars())


def test_exactly_one_of_two_schedulers_leads(two_workers) -> None:  # type: ignore[no-untyped-def]
    first, second, onlooker = two_workers
    assert first.leadership.is_leader()
    assert not second.leadership.is_leader()
    # Asking again changes nothing: the leader keeps the lock, the other keeps waiting.
    assert [first.leadership.is_leader(), second.leadership.is_leader()] == [True, False]
    assert len(_lock_holders(onlooker)) == 1


def test_the_other_takes_over_when_the_leaders_session_dies(two_workers) -> None:  # type: ignore[no-untyped-def]
    first, second, onlooker = two_workers
    assert first.leadership.is_leader()
    assert not second.leadership.is_leader()
    [leader_pid] = _lock_holders(onlooker)
    with onlooker.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"),
                            {"pid": leader_pid}).scalar()
    deadline = time.monotonic() + 10
    while _lock_holders(onlooker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second.leadership.is_leader()
    assert not first.leadership.is_leader()  # its probe fails, and the lock is taken
    [new_pid] = _lock_holders(onlooker)
    assert new_pid != leader_pid


def test_the_leader_is_never_idle_in_a_transaction(
        pg_url: str, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(database_url=pg_url)
    onlooker = open_storage(settings).engine
    with onlooker.connect() as conn:
        database = conn.execute(text("SELECT current_database()")).scalar()
        # A server that ends sessions idle in a transaction after 300 ms.
        conn.execute(text(
            f'ALTER DATABASE "{database}" SET idle_in_transaction_session_timeout = 300'))
        conn.commit()
    storages = [open_storage(settings), open_storage(settings)]
    leader, other = (Scheduler(storage, settings) for storage in storages)
    try:
        assert leader.leadership.is_leader()
        [pid] = _lock_holders(onlooker)
        for _ in range(3):  # probes, with pauses past the server's timeout between them
            time.sleep(0.5)
            assert leader.leadership.is_leader()
            with onlooker.connect() as conn:
                state = conn.execute(text(
                    "SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar()
            assert state == "idle"
        assert _lock_holders(onlooker) == [pid]  # the same session kept it all along
        assert not other.leadership.is_leader()
    finally:
        for scheduler, storage in zip((leader, other), storages, strict=True):
            scheduler.leadership.resign()
            storage.engine.dispose()
        onlooker.dispose()

"""The rate budget and method pauses: no 503s under load, a 429 stops only its method.

To keep the test fast, the emulator and the stored portal plan both drain 50/s with a
bucket of 50 instead of 2/s and 50; the arithmetic is the same, only the clock is faster.
"""

from __future__ import annotations

import threading

import pytest

from connector.rest.errors import OperationTimeLimit
from connector.rest.rate_budget import DatabaseRateBudget, MemoryRateBudget, reserve


@pytest.mark.parametrize(("level", "elapsed", "expected_level", "expected_wait"), [
    (0.0, 0.0, 1.0, 0.0),     # empty bucket: go now
    (48.0, 0.0, 49.0, 0.0),   # the last slot below the headroom
    (49.0, 0.0, 50.0, 0.5),   # full: wait for one slot to drain (2/s)
    (60.0, 0.0, 61.0, 6.0),   # queued callers wait their turn
    (49.0, 1.0, 48.0, 0.0),   # a second drained two
    (10.0, 100.0, 1.0, 0.0),  # never below empty
])
def test_reserving_a_slot(level, elapsed, expected_level, expected_wait):
    assert reserve(level, 1000.0, 1000.0 + elapsed, 2.0, 50) == (expected_level, expected_wait)


def test_the_database_bucket_is_shared_by_every_client_of_the_database(installed_app):
    clock = [1000.0]
    slept: list[float] = []
    make = lambda: DatabaseRateBudget(  # noqa: E731
        installed_app.storage.engine, "portal-a", 2.0, 5, clock=lambda: clock[0],
        sleep=slept.append)
    first, second = make(), make()
    for budget in (first, second, first, second):
        budget.acquire()
    assert slept == []
    second.acquire()  # the fifth request in the same instant: the bucket keeps one spare
    assert slept == [0.5]
    assert first.level() == pytest.approx(5.0)
    other = DatabaseRateBudget(installed_app.storage.engine, "portal-b", 2.0, 5,
                               clock=lambda: clock[0], sleep=slept.append)
    assert other.level() == 0.0


def test_a_503_makes_everyone_wait_for_a_full_bucket():
    slept: list[float] = []
    budget = MemoryRateBudget(2.0, 10, clock=lambda: 0.0, sleep=slept.append)
    budget.saturate()
    budget.acquire()
    assert slept == [1.0]


def test_200_calls_from_8_threads_never_trip_the_portal_limit(installed_app):
    installed_app.emulator.set_limits(enabled=True, drain_rate=50.0, capacity=50.0)
    # At 2/s the one spare slot the client keeps is 500 ms of slack for requests that
    # reach the portal later than they were reserved; at 50/s one slot is 20 ms, which a
    # loaded machine's scheduling alone can eat. Ten more slots (200 ms) give most of it back.
    installed_app.set_plan(50.0, 41)
    client = installed_app.client()
    failures: list[BaseException] = []

    def worker() -> None:
        for _ in range(25):
            try:
                client.call("user.current")
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = [record.status for record in installed_app.emulator.call_log.records()]
    assert failures == []
    assert len(statuses) == 200
    assert statuses.count(503) == 0
    assert all(record.retries == 0 for record in client.calls)


def test_a_429_pauses_only_that_method_on_that_portal(installed_app):
    installed_app.emulator.set_limits(enabled=True, drain_rate=1000.0, capacity=1000.0,
                                operating_budget=0.5, operating_cost=1.0)
    client = installed_app.client()
    client.call("tasks.task.list")
    with pytest.raises(OperationTimeLimit) as caught:
        client.call("tasks.task.list")
    assert caught.value.reset_at is not None and caught.value.http_status == 429
    sent = installed_app.rest_calls("tasks.task.list")
    with pytest.raises(OperationTimeLimit, match="not sent"):
        client.call("tasks.task.list")
    with pytest.raises(OperationTimeLimit, match="not sent"):  # another process, same database
        installed_app.client().call("tasks.task.list")
    assert installed_app.rest_calls("tasks.task.list") == sent
    assert client.call("user.current").result["ID"] == "1"

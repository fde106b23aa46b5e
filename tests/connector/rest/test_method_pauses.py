"""`MethodPauses`: after a 429 OPERATION_TIME_LIMIT a method is held until the portal's
reset time, on that portal only, and other methods keep going; the pause is shared
through the database with clients started later."""

from __future__ import annotations

import pytest
import responses

from connector.rest.auth import WebhookAuth
from connector.rest.client import PortalClient
from connector.rest.errors import OperationTimeLimit
from connector.rest.method_pauses import DEFAULT_PAUSE, MethodPauses
from connector.rest.rate_budget import MemoryRateBudget
from connector.rest.retry_policy import RetryPolicy
from connector.rest.transport import RestTransport
from connector.storage.engines import open_storage

NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(make_settings):
    storage = open_storage(make_settings())
    yield storage.engine
    storage.engine.dispose()


def test_a_paused_method_is_held_until_its_reset_and_others_are_not(clock):
    pauses = MethodPauses("portal-a", clock=clock)
    assert pauses.pause("tasks.task.list", NOW + 30) == NOW + 30

    with pytest.raises(OperationTimeLimit, match="not sent") as caught:
        pauses.check("tasks.task.list")
    assert caught.value.reset_at == NOW + 30
    assert caught.value.code == "OPERATION_TIME_LIMIT"
    pauses.check("tasks.task.get")
    pauses.check("crm.deal.list")

    clock.now = NOW + 29.9
    with pytest.raises(OperationTimeLimit):
        pauses.check("tasks.task.list")
    clock.now = NOW + 30.0
    pauses.check("tasks.task.list")


def test_method_names_are_compared_without_case(clock):
    pauses = MethodPauses("portal-a", clock=clock)
    pauses.pause("Tasks.Task.List", NOW + 30)
    with pytest.raises(OperationTimeLimit):
        pauses.check("tasks.task.list")


@pytest.mark.parametrize("reset_at", [None, 0.0, NOW - 5])
def test_without_a_usable_reset_time_the_pause_is_the_default(clock, reset_at):
    pauses = MethodPauses("portal-a", clock=clock)
    assert pauses.pause("tasks.task.list", reset_at) == NOW + DEFAULT_PAUSE
    clock.now = NOW + DEFAULT_PAUSE - 1
    with pytest.raises(OperationTimeLimit):
        pauses.check("tasks.task.list")


def test_a_shorter_pause_does_not_cut_a_longer_one(clock):
    pauses = MethodPauses("portal-a", clock=clock)
    pauses.pause("tasks.task.list", NOW + 100)
    pauses.pause("tasks.task.list", NOW + 10)
    clock.now = NOW + 50
    with pytest.raises(OperationTimeLimit) as caught:
        pauses.check("tasks.task.list")
    assert caught.value.reset_at == NOW + 100


def test_a_client_started_later_on_the_database_knows_the_pause(engine, clock):
    MethodPauses("portal-a", engine, clock=clock).pause("tasks.task.list", NOW + 30)

    later = MethodPauses("portal-a", engine, clock=clock)
    with pytest.raises(OperationTimeLimit):
        later.check("tasks.task.list")
    later.check("tasks.task.get")
    MethodPauses("portal-b", engine, clock=clock).check("tasks.task.list")


def test_a_pause_stored_and_over_is_not_loaded(engine, clock):
    MethodPauses("portal-a", engine, clock=clock).pause("tasks.task.list", NOW + 30)
    clock.now = NOW + 31
    MethodPauses("portal-a", engine, clock=clock).check("tasks.task.list")


def test_pausing_again_replaces_the_stored_row(engine, clock):
    first = MethodPauses("portal-a", engine, clock=clock)
    first.pause("tasks.task.list", NOW + 30)
    first.pause("tasks.task.list", NOW + 90)
    clock.now = NOW + 60
    with pytest.raises(OperationTimeLimit) as caught:
        MethodPauses("portal-a", engine, clock=clock).check("tasks.task.list")
    assert caught.value.reset_at == NOW + 90


HOOK = "https://portal.example.com/rest/1/code/"


@responses.activate
def test_a_429_holds_that_method_at_the_client_until_the_portals_reset(clock):
    limited = {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked",
               "time": {"operating_reset_at": NOW + 30}}
    responses.post(f"{HOOK}tasks.task.list", status=429, json=limited)
    responses.post(f"{HOOK}user.current", json={"result": {"ID": "1"}})
    auth = WebhookAuth(HOOK, allow_insecure=False)
    client = PortalClient(auth, budget=MemoryRateBudget(1000.0, 1000),
                          pauses=MethodPauses(auth.portal_key, clock=clock),
                          transport=RestTransport(5), policy=RetryPolicy(max_attempts=3))

    with pytest.raises(OperationTimeLimit) as caught:
        client.call("tasks.task.list")
    assert caught.value.reset_at == NOW + 30 and caught.value.http_status == 429
    with pytest.raises(OperationTimeLimit, match="not sent"):
        client.call("tasks.task.list")
    assert client.call("user.current").result == {"ID": "1"}
    assert [call.request.url.rsplit("/", 1)[1] for call in responses.calls] == [
        "tasks.task.list", "user.current"]

    clock.now = NOW + 30
    responses.replace(responses.POST, f"{HOOK}tasks.task.list", json={"result": []})
    assert client.call("tasks.task.list").result == []

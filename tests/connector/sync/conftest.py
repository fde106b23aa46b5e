"""Fixtures for one sync module at a time: TaskBridge installed in the emulated portal
with nothing left to process, a client for it, the portal as its admin reads it, and the
people of the article."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connector.rest.client import PortalClient
from connector.rest.retry_policy import RetryPolicy
from connector.sync.fetch import forget_facts
from tests.scenarios.portal_view import AdminView
from tests.support.stack import TaskBridge


@dataclass(frozen=True)
class People:
    manager: int
    colleague: int


@pytest.fixture
def installed(taskbridge: TaskBridge) -> Iterator[TaskBridge]:
    """TaskBridge installed in `portal`, every install-time event processed."""
    forget_facts(taskbridge.portal.member_id)  # learned afresh from this portal
    taskbridge.install("page")
    taskbridge.drain()
    yield taskbridge
    forget_facts(taskbridge.portal.member_id)


@pytest.fixture
def client(installed: TaskBridge) -> Iterator[PortalClient]:
    """The installed app's client; it gives up at once where a retry would only wait."""
    made = PortalClient.for_portal(installed.storage, installed.settings,
                                   installed.portal.member_id,
                                   policy=RetryPolicy(max_attempts=1))
    yield made
    made.close()


@pytest.fixture
def people(portal: Any) -> People:
    return People(manager=portal.add_user("Maria", "Rossi"),
                  colleague=portal.add_user("Luca", "Bianchi"))


@pytest.fixture
def on_portal(portal: Any) -> Iterator[AdminView]:
    """The portal read through REST by its admin: what assertions look at."""
    view = AdminView(portal)
    yield view
    view.close()

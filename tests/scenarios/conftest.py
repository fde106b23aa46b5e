"""Scenario fixtures: an installed TaskBridge, the people of the article, and the portal
as its admin sees it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.scenarios.portal_view import AdminView
from tests.support.stack import TaskBridge


@dataclass
class People:
    manager: int
    colleague: int
    auditor: int


@pytest.fixture
def installed(taskbridge: TaskBridge) -> TaskBridge:
    taskbridge.install("page")
    taskbridge.drain()
    return taskbridge


@pytest.fixture
def people(portal: Any) -> People:
    return People(
        manager=portal.add_user("Maria", "Rossi"),
        colleague=portal.add_user("Luca", "Bianchi"),
        auditor=portal.add_user("Anna", "Verdi"),
    )


@pytest.fixture
def on_portal(portal: Any) -> Iterator[AdminView]:
    """The portal read through REST by its admin: what assertions look at."""
    view = AdminView(portal)
    yield view
    view.close()

"""Scenario fixtures: an installed TaskBridge, the people of the article, and the portal
as its admin sees it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.scenarios.portal_view import AdminView
from tests.support.stack import TaskBridge, emulated_portal

# The §7 scenarios run on both task cards a portal may have: the classic one, and the
# new one of tasks 25.700.0 (comments in the task's chat, widgets in an "Applications"
# block). A module opts in with `pytestmark = BOTH_TASK_CARDS`.
TASK_CARDS = ("classic", "new")
BOTH_TASK_CARDS = pytest.mark.parametrize("portal", TASK_CARDS, indirect=True)


@pytest.fixture
def portal(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An emulated portal on loopback, limits off, with the task card a test asks for
    (the classic one unless parametrized)."""
    with emulated_portal(limits=False, task_card=getattr(request, "param", "classic")) as running:
        yield running


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

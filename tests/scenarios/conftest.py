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
BOTH_TASK_CARDS = pytest.mark.parametrize(
    "portal", [{"task_card": card} for card in TASK_CARDS], indirect=True, ids=TASK_CARDS)


@pytest.fixture
def portal(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An emulated portal on loopback, limits off, the classic task card; other `Portal`
    options (`task_card`, `rest_v3`) as the test's parameter, e.g. `BOTH_TASK_CARDS`."""
    options = {"limits": False, "task_card": "classic", **getattr(request, "param", {})}
    with emulated_portal(**options) as running:
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

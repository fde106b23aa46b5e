"""Scenario fixtures: an installed TaskBridge and the people of the article."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

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

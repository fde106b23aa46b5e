"""The scripted user actions of the chaos suite, and the oracle of their end state.

A unit is one deal owned by the manager with one task the manager gives a colleague.
Each unit follows one of seven scripts, acted in three phases; TaskBridge settles
between phases, so no phase gives one task more than one action and the end state does
not depend on how events were coalesced or ordered. The oracle is spec §2, §3 and §7.7
applied to the scripts by hand (the table `EXPECTED`); the same transitions are the
spec's scenarios §7.1 and §7.7 (`tests/scenarios/`):

| script | phase 1 | phase 2 | phase 3 | CRM status | task real status |
|---|---|---|---|---|---|
| created | deal, task | | | CREATED | 2 |
| started | deal, task | start | | IN_PROGRESS | 3 |
| paused | deal, task | start | pause | WAITING | 2 |
| completed | deal, task | start | complete | FINISHED | 5 |
| controlled | deal, task with control | start | complete | CONTROL_WAITING | 4 |
| won | deal, task | start | deal won | FINISHED | 5 |
| won_controlled | deal, task with control | start | deal won | CONTROL_WAITING | 4 |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

SCRIPTS = ("created", "started", "paused", "completed", "controlled", "won", "won_controlled")
# (CRM status TaskBridge must hold and write to the deal, the task's real status)
EXPECTED: dict[str, tuple[str, str]] = {
    "created": ("CREATED", "2"),
    "started": ("IN_PROGRESS", "3"),
    "paused": ("WAITING", "2"),
    "completed": ("FINISHED", "5"),
    "controlled": ("CONTROL_WAITING", "4"),
    "won": ("FINISHED", "5"),
    "won_controlled": ("CONTROL_WAITING", "4"),
}
PHASES = 3


@dataclass
class Unit:
    script: str
    deal: int = 0
    task: int = 0

    @property
    def expected_status(self) -> str:
        return EXPECTED[self.script][0]

    @property
    def expected_real_status(self) -> str:
        return EXPECTED[self.script][1]


def changes_per_unit(script: str) -> int:
    """User actions a script makes: deal, task, then one per later phase."""
    return 2 + (script != "created") + (script not in ("created", "started"))


def units_for(changes: int) -> list[Unit]:
    """Enough units, scripts in rotation, for about `changes` user actions."""
    units: list[Unit] = []
    made = 0
    while made < changes:
        script = SCRIPTS[len(units) % len(SCRIPTS)]
        units.append(Unit(script))
        made += changes_per_unit(script)
    return units


def total_changes(units: list[Unit]) -> int:
    return sum(changes_per_unit(unit.script) for unit in units)


@dataclass(frozen=True)
class People:
    manager: int
    colleague: int


def phase_actions(units: list[Unit], phase: int, portal: Any, people: People
                  ) -> Iterator[Callable[[], None]]:
    """The user actions of `phase` (1-based), one callable each, in order."""
    manager, colleague = portal.as_user(people.manager), portal.as_user(people.colleague)
    for index, unit in enumerate(units):
        if phase == 1:
            yield lambda unit=unit, index=index: _create(unit, index, manager, people)
        elif phase == 2 and unit.script != "created":
            yield lambda unit=unit: colleague.start_task(unit.task)
        elif phase == 3 and unit.script == "paused":
            yield lambda unit=unit: colleague.pause_task(unit.task)
        elif phase == 3 and unit.script in ("completed", "controlled"):
            yield lambda unit=unit: colleague.complete_task(unit.task)
        elif phase == 3 and unit.script.startswith("won"):
            yield lambda unit=unit: manager.move_deal(unit.deal, "WON")


def _create(unit: Unit, index: int, manager: Any, people: People) -> None:
    unit.deal = manager.create_deal(f"Chaos deal {index}", assigned_by=people.manager)
    unit.task = manager.create_task(
        f"D_{unit.deal}", title=f"Chaos task {index}", responsible=people.colleague,
        task_control=unit.script.endswith("controlled"),
    )


def status_of_deal(portal: Any, deal: int) -> str:
    """The XML_ID of the deal's UF_CRM_TASKBRIDGE_STATUS value, "" when unset."""
    value = portal.deal(deal).get("UF_CRM_TASKBRIDGE_STATUS")
    field = next((f for f in portal.state.user_fields.values()
                  if f.entity_id == "CRM_DEAL" and f.field_name == "UF_CRM_TASKBRIDGE_STATUS"),
                 None)
    if field is None or not value:
        return ""
    return next((item["XML_ID"] for item in field.items if str(item["ID"]) == str(value)), "")


def mismatches(units: list[Unit], portal: Any, stored_status: Callable[[int], str | None]
               ) -> list[str]:
    """Every unit whose task or deal is not in the state the oracle expects."""
    wrong = []
    for unit in units:
        seen = (stored_status(unit.task), status_of_deal(portal, unit.deal),
                str(portal.task(unit.task)["status"]))
        want = (unit.expected_status, unit.expected_status, unit.expected_real_status)
        if seen != want:
            wrong.append(f"{unit.script} deal {unit.deal} task {unit.task}: "
                         f"stored/deal field/real status {seen}, expected {want}")
    return wrong

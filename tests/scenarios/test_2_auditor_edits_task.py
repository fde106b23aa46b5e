"""§7.2: an auditor (not the deal's manager) edits the description or adds a checklist:
UPDATED. The deal's manager doing the same: no change (nothing on the deal's field or
timeline)."""

from __future__ import annotations

from mappers.decisions import Rule
from tests.scenarios.conftest import BOTH_TASK_CARDS, People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

pytestmark = BOTH_TASK_CARDS

TITLE = "Prepare the contract"


def _deal_with_task(installed: TaskBridge, people: People, on_portal: AdminView
                    ) -> tuple[int, int]:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Supply", assigned_by=people.manager)
    task = portal.as_user(people.manager).create_task(
        f"D_{deal}", title=TITLE, responsible=people.colleague, auditors=[people.auditor],
    )
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "CREATED", Rule.FIRST_SEEN)
    return deal, task


def test_an_auditor_editing_the_description_makes_it_updated(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    deal, task = _deal_with_task(installed, people, on_portal)
    installed.portal.as_user(people.auditor).update_task(task, DESCRIPTION="Use the new template")
    installed.drain()
    assert on_portal.status("deal", deal) == "UPDATED"
    assert on_portal.badge("deal", deal) == "UPDATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "UPDATED", Rule.FIELDS_CHANGED)
    assert on_portal.task(task).tags == {"CRM"}


def test_an_auditor_adding_a_checklist_item_makes_it_updated(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    deal, task = _deal_with_task(installed, people, on_portal)
    installed.portal.as_user(people.auditor).add_checklist_item(task, "Check the VAT number")
    installed.drain()
    assert on_portal.status("deal", deal) == "UPDATED"
    assert on_portal.badge("deal", deal) == "UPDATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "UPDATED", Rule.FIELDS_CHANGED)


def test_the_deal_manager_editing_changes_nothing(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    deal, task = _deal_with_task(installed, people, on_portal)
    installed.portal.as_user(people.manager).update_task(task, DESCRIPTION="Manager's note")
    installed.portal.as_user(people.manager).add_checklist_item(task, "Call the client")
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.badge("deal", deal) == "CREATED"
    assert on_portal.new_entries("deal", deal) == []

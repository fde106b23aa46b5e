"""§3, actor rule: a change is ignored when its author is the responsible of *any* CRM item
the task is bound to (§1: lead, deal, contact, company, smart-process item). A task bound
to a deal and to a company: the company's responsible editing it changes nothing on the
deal; anybody else's edit makes it UPDATED. Reading the company costs no extra request."""

from __future__ import annotations

from typing import Any

import pytest

from mappers.decisions import Rule
from tests.scenarios.conftest import People
from tests.scenarios.portal_view import AdminView, says
from tests.support.stack import TaskBridge

TITLE = "Prepare the contract"
COMPANY = 4


@pytest.fixture
def account_manager(portal: Any) -> int:
    """The company's responsible: not the deal's, and not the task's."""
    return portal.add_user("Paolo", "Neri")


def _task_on_deal_and_company(installed: TaskBridge, people: People, on_portal: AdminView,
                              account_manager: int) -> tuple[int, int, int]:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Supply", assigned_by=people.manager)
    company = portal.as_user(people.manager).create_company("Acme", assigned_by=account_manager)
    task = portal.as_user(people.manager).create_task(
        [f"D_{deal}", f"CO_{company}"], title=TITLE, responsible=people.colleague,
        auditors=[people.auditor, account_manager],
    )
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "CREATED", Rule.FIRST_SEEN)
    assert on_portal.call("crm.item.get", {"entityTypeId": COMPANY, "id": company})[
        "result"]["item"]["assignedById"] == account_manager
    return deal, company, task


def test_the_company_responsible_editing_changes_nothing(
    installed: TaskBridge, people: People, on_portal: AdminView, account_manager: int
) -> None:
    deal, _, task = _task_on_deal_and_company(installed, people, on_portal, account_manager)
    installed.portal.as_user(account_manager).update_task(task, DESCRIPTION="New terms")
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.new_entries("deal", deal) == []
    assert installed.task_status(task) == "CREATED"


def test_someone_else_editing_makes_it_updated(
    installed: TaskBridge, people: People, on_portal: AdminView, account_manager: int
) -> None:
    deal, _, task = _task_on_deal_and_company(installed, people, on_portal, account_manager)
    installed.portal.as_user(people.auditor).update_task(task, DESCRIPTION="New terms")
    installed.drain()
    assert on_portal.status("deal", deal) == "UPDATED"
    [entry] = on_portal.new_entries("deal", deal)
    assert says(entry, TITLE, "UPDATED", Rule.FIELDS_CHANGED)


def test_reading_the_company_costs_no_extra_request(
    installed: TaskBridge, people: People, on_portal: AdminView, account_manager: int
) -> None:
    portal = installed.portal
    deal, _, task = _task_on_deal_and_company(installed, people, on_portal, account_manager)
    deal_only = portal.as_user(people.manager).create_task(
        f"D_{deal}", title="Send the invoice", responsible=people.colleague,
        auditors=[people.auditor, account_manager])
    installed.drain()
    # The deal's manager edits both: ignored both times, so only the fetch is paid.
    portal.as_user(people.manager).update_task(deal_only, DESCRIPTION="New terms")
    without_company = installed.drain()
    portal.as_user(people.manager).update_task(task, DESCRIPTION="New terms")
    with_company = installed.drain()
    assert with_company == without_company == 1
    assert on_portal.status("deal", deal) == "CREATED"
    # The company's responsible came in the batch that fetched the task.
    [listed] = [call for call in portal.emulator.call_log.records()
                if call.method == "crm.item.list"][-1:]
    assert listed.in_batch and str(listed.params["entityTypeId"]) == str(COMPANY)


@pytest.mark.parametrize("kind", ["contact", "smart-process item"])
def test_a_contact_or_smart_process_item_responsible_counts_too(
    installed: TaskBridge, people: People, on_portal: AdminView, account_manager: int,
    kind: str,
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Supply", assigned_by=people.manager)
    if kind == "contact":
        code = f"C_{portal.as_user(1).create_contact('Carla', assigned_by=account_manager)}"
    else:
        process = portal.add_smart_process("Installations")
        item = portal.as_user(1).create_smart_item(process, "Boiler", assigned_by=account_manager)
        code = f"T{process:x}_{item}"
    task = portal.as_user(people.manager).create_task(
        [f"D_{deal}", code], title=TITLE, responsible=people.colleague,
        auditors=[people.auditor, account_manager])
    installed.drain()
    on_portal.new_entries("deal", deal)
    portal.as_user(account_manager).update_task(task, DESCRIPTION="New terms")
    installed.drain()
    assert on_portal.status("deal", deal) == "CREATED"
    assert on_portal.new_entries("deal", deal) == []
    portal.as_user(people.auditor).update_task(task, DESCRIPTION="Newer terms")
    installed.drain()
    assert on_portal.status("deal", deal) == "UPDATED"


def test_a_smart_process_the_portal_no_longer_has_holds_nobody_back(
    installed: TaskBridge, people: People, on_portal: AdminView
) -> None:
    portal = installed.portal
    deal = portal.as_user(people.manager).create_deal("Supply", assigned_by=people.manager)
    # entityTypeId 130 (T82) was never made, or was deleted: crm.item.list answers
    # NOT_FOUND for it, and the task's deal is still kept right.
    task = portal.as_user(people.manager).create_task(
        [f"D_{deal}", "T82_1"], title=TITLE, responsible=people.colleague,
        auditors=[people.auditor])
    installed.drain()
    portal.as_user(people.auditor).update_task(task, DESCRIPTION="New terms")
    installed.drain()
    assert on_portal.status("deal", deal) == "UPDATED"
    assert installed.task_status(task) == "UPDATED"
    [refused] = [call for call in portal.emulator.call_log.records()
                 if call.method == "crm.item.list"]
    assert refused.error == "NOT_FOUND"

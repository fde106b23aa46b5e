"""`taskbridge task create` and `taskbridge task token` against the emulated portal, with
TASKBRIDGE_* pointing at the test's database."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli import cli
from connector.portals.automation_token import automation_token
from connector.sync.fetch import forget_facts
from tests.scenarios.conftest import People
from tests.support.card_tasks import checklist, status_code, timeline, writes_of
from tests.support.stack import TaskBridge


def _run(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture
def lead(installed: TaskBridge, people: People) -> int:
    made = installed.portal.as_user(people.manager).create_lead("Call ACME")
    installed.drain()
    return int(made)


def test_a_task_for_a_lead_from_the_command_line(taskbridge_env: TaskBridge, people: People,
                                                 lead: int) -> None:
    stack = taskbridge_env
    portal = stack.portal
    forget_facts(portal.member_id)  # as in a fresh process
    calls = stack.rest_calls
    result = _run("task", "create", "--portal", portal.member_id, "--lead", lead,
                  "--title", "Call back", "--responsible", people.colleague,
                  "--deadline", "2030-01-10T09:30:00+00:00", "--description", "About prices",
                  "--checklist", "Ask for the budget", "--checklist", "Book a demo",
                  "--check-on-completion", "--result-required")
    assert result.exit_code == 0, result.output
    task_id = int(result.output.strip())
    # The portal's facts (who TaskBridge acts as, the status values), the creation, the status.
    assert stack.rest_calls - calls == 3
    task = portal.task(task_id)
    assert task["ufCrmTask"] == [f"L_{lead}"]
    assert "CRM" in str(task["tags"])
    assert task["responsibleId"] == str(people.colleague)
    assert task["createdBy"] == "1"  # the user TaskBridge acts as: the installing admin
    assert task["taskControl"] == "Y"
    assert task["description"] == "About prices"
    assert task["deadline"].startswith("2030-01-10T09:30:00")
    assert checklist(portal, task_id) == ["Ask for the budget", "Book a demo"]
    assert any("created from the card" in note and str(task_id) in note
               for note in timeline(portal, "lead", lead))
    assert status_code(portal, "lead", lead) == "CREATED"
    written = writes_of(portal, "crm.lead.update")
    stack.drain()
    assert stack.task_status(task_id) == "CREATED"
    assert writes_of(portal, "crm.lead.update") == written


def test_the_creator_can_be_named(taskbridge_env: TaskBridge, people: People, lead: int) -> None:
    stack = taskbridge_env
    forget_facts(stack.portal.member_id)
    calls = stack.rest_calls
    result = _run("task", "create", "--portal", stack.portal.member_id, "--lead", lead,
                  "--title", "Call back", "--responsible", people.manager,
                  "--created-by", people.manager)
    assert result.exit_code == 0, result.output
    task_id = int(result.output.strip())
    # The status write still needs the status field's values: the same three requests.
    assert stack.rest_calls - calls == 3
    assert stack.portal.task(task_id)["createdBy"] == str(people.manager)
    assert status_code(stack.portal, "lead", lead) == "VIEWED"  # creator == responsible


@pytest.mark.parametrize(("change", "message"), [
    ({"--lead": None}, "--deal/--lead: give exactly one of them"),
    ({"--deal": 7}, "--deal/--lead: give exactly one of them"),
    ({"--title": "  "}, "--title: required, at most 255 characters"),
    ({"--deadline": "tomorrow"}, "--deadline: not an ISO 8601 date and time"),
    ({"--checklist": ""}, "--checklist: each item needs text"),
    ({"--portal": "nobody"}, "--portal: no portal with member_id 'nobody'"),
    ({"--responsible": 0}, "Invalid value for '--responsible'"),
])
def test_a_wrong_option_is_named_in_one_line(taskbridge_env: TaskBridge, people: People,
                                             lead: int, change: dict[str, Any],
                                             message: str) -> None:
    options: dict[str, Any] = {"--portal": taskbridge_env.portal.member_id, "--lead": lead,
                               "--title": "Call back", "--responsible": people.colleague}
    options.update(change)
    args = [part for name, value in options.items() if value is not None
            for part in (name, value)]
    calls = taskbridge_env.rest_calls
    result = _run("task", "create", *args)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert message in lines[-1], result.output
    assert "Traceback" not in result.output
    assert taskbridge_env.rest_calls == calls


def test_a_missing_deal_is_named(taskbridge_env: TaskBridge, people: People) -> None:
    result = _run("task", "create", "--portal", taskbridge_env.portal.member_id,
                  "--deal", 4242, "--title", "Prepare the contract",
                  "--responsible", people.colleague)
    assert result.exit_code == 1
    assert result.output.startswith("Error: --deal: D_4242")
    assert len(result.output.strip().splitlines()) == 1
    assert not taskbridge_env.portal.emulator.state.tasks


def test_the_token_command_prints_the_portals_token(taskbridge_env: TaskBridge) -> None:
    member = taskbridge_env.portal.member_id
    result = _run("task", "token", "--portal", member)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == automation_token(taskbridge_env.settings, member)
    unknown = _run("task", "token", "--portal", "nobody")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: --portal: no portal with member_id 'nobody'"

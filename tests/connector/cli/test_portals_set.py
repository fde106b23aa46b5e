"""`taskbridge portals set` against the emulated portal: a label language must have labels
and relabels the status field on the portal at once; a review stage must be a real stage
of its funnel, not a final one. A refusal is one line naming the key, exit 2, and changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from connector.cli import main
from connector.storage.journal import Journal
from tests.scenarios.conftest import People
from tests.support.card_tasks import STATUS_FIELD, status_code
from tests.support.stack import TaskBridge


def taskbridge(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    """Run the console entry point as a shell would: its exit code and what it printed."""
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def options(stack: TaskBridge, entity: str) -> dict[str, tuple[str, str]]:
    """The status field's options on the portal: XML_ID -> (ID, label)."""
    field = next(f for f in stack.portal.emulator.state.user_fields.values()
                 if f.entity_id == f"CRM_{entity.upper()}" and f.field_name == STATUS_FIELD)
    return {o["XML_ID"]: (o["ID"], o["VALUE"]) for o in field.items}


def changes(stack: TaskBridge) -> list[dict[str, Any]]:
    return Journal(stack.storage.engine).rows(event="SETTINGS_CHANGED")


def test_a_new_language_relabels_the_status_field_at_once(
    taskbridge_env: TaskBridge, people: People, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    portal = stack.portal
    deal = portal.as_user(people.manager).create_deal("ACME", assigned_by=people.manager)
    portal.as_user(people.manager).create_task(f"D_{deal}", responsible=people.colleague)
    stack.drain()
    value = portal.deal(deal)[STATUS_FIELD]
    before = {entity: options(stack, entity) for entity in ("deal", "lead")}
    assert before["deal"]["CREATED"][1] == "Created, not viewed"

    code, out = taskbridge(capsys, "portals", "set", portal.member_id, "language=it")

    assert code == 0, out
    for entity in ("deal", "lead"):
        after = options(stack, entity)
        # Same options, same IDs: what deals and leads hold stays valid.
        assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before[entity].items()}
        assert after["CREATED"][1] == "Creato, non visualizzato"
        assert after["FINISHED"][1] == "Completato"
    assert portal.deal(deal)[STATUS_FIELD] == value
    assert status_code(portal, "deal", deal) == "CREATED"
    [row] = changes(stack)
    assert row["detail"]["portal"]["relabelled"] == [f"deal.{STATUS_FIELD}",
                                                     f"lead.{STATUS_FIELD}"]

    code, out = taskbridge(capsys, "portals", "set", portal.member_id, "language=")
    assert code == 0, out
    assert options(stack, "lead")["CREATED"][1] == "Created, not viewed"


def test_a_language_without_labels_is_refused(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    calls = stack.rest_calls
    code, out = taskbridge(capsys, "portals", "set", stack.portal.member_id, "language=fr")
    assert code == 2
    assert out.strip() == ("taskbridge: language: 'fr' has no labels (known: en, it, or "
                           "empty for the portal's own language)")
    assert stack.stored().settings.get("language") is None
    assert changes(stack) == []
    assert stack.rest_calls == calls
    assert options(stack, "deal")["VIEWED"][1] == "Viewed"


@pytest.mark.parametrize(("assignment", "problem"), [
    ("review_stage.0=WON", "review_stage.0: 'WON' is a final stage (won or lost)"),
    ("review_stage.0=LOSE", "review_stage.0: 'LOSE' is a final stage (won or lost)"),
    ("review_stage.0=UNDER_REVIEW", "review_stage.0: 'UNDER_REVIEW' is not a stage of that "
                                    "funnel"),
    ("review_stage.7=EXECUTING", "review_stage.7: the portal has no such funnel"),
])
def test_a_review_stage_must_be_a_real_stage_before_the_end(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
    assignment: str, problem: str,
) -> None:
    stack = taskbridge_env
    code, out = taskbridge(capsys, "portals", "set", stack.portal.member_id, assignment)
    assert code == 2
    assert out.startswith(f"taskbridge: {problem}")
    assert len(out.strip().splitlines()) == 1
    assert stack.stored().settings.get("review_stage", {}) == {}
    assert changes(stack) == []


def test_a_review_stage_of_another_funnel_is_found_on_the_portal(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    category = stack.portal.emulator.add_deal_category("Wholesale")
    code, out = taskbridge(capsys, "portals", "set", stack.portal.member_id,
                           f"review_stage.{category}=C{category}:EXECUTING",
                           "review_stage.0=EXECUTING", "lead_conversion_closes_tasks=off")
    assert code == 0, out
    stored = stack.stored().settings
    assert stored["review_stage"] == {str(category): f"C{category}:EXECUTING",
                                      "0": "EXECUTING"}
    assert stored["close_tasks_on_lead_convert"] is False
    assert [row["detail"]["changed"] for row in changes(stack)] == [
        ["close_tasks_on_lead_convert", "review_stage"]]

    code, out = taskbridge(capsys, "portals", "set", stack.portal.member_id,
                           "review_stage.0=none")
    assert code == 0, out
    assert stack.stored().settings["review_stage"] == {str(category): f"C{category}:EXECUTING"}


def test_a_language_the_portal_cannot_take_changes_nothing(
    taskbridge_env: TaskBridge, capsys: pytest.CaptureFixture[str],
) -> None:
    stack = taskbridge_env
    stack.portal.emulator.set_faults(error_500_rate=1.0, methods=["batch"])
    code, out = taskbridge(capsys, "portals", "set", stack.portal.member_id, "language=it")
    stack.portal.emulator.set_faults()
    assert code == 2
    assert out.strip().splitlines()[-1].startswith(
        "taskbridge: language: the portal did not take the status field's it labels (")
    assert out.strip().splitlines()[-1].endswith("nothing changed")
    assert stack.stored().settings.get("language") is None
    assert changes(stack) == []
    assert options(stack, "deal")["VIEWED"][1] == "Viewed"

"""§6: a task created from a CRM card is announced on the item's timeline, in the
portal's language."""

from __future__ import annotations

import pytest

from mappers.card_notes import card_task_note, rule_task_note


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Task «Prepare the contract» created from the card for user 7 (task 42) "
           "· TaskBridge"),
    ("it", "Incarico «Prepare the contract» creato dalla scheda per l'utente 7 "
           "(incarico 42) · TaskBridge"),
    ("it-IT", "Incarico «Prepare the contract» creato dalla scheda per l'utente 7 "
              "(incarico 42) · TaskBridge"),
    ("de", "Task «Prepare the contract» created from the card for user 7 (task 42) "
           "· TaskBridge"),
])
def test_the_note_speaks_the_portal_language(language: str, expected: str) -> None:
    assert card_task_note("Prepare the contract", 7, "42", language) == expected


def test_a_title_with_braces_is_written_as_it_is() -> None:
    assert "«Budget {2026}»" in card_task_note("Budget {2026}", 7, "42", "en")


@pytest.mark.parametrize(("language", "words"), [
    ("en", "created by an automation rule for user 7 (task 42)"),
    ("it", "creato da una regola di automazione per l'utente 7 (incarico 42)"),
    ("de", "created by an automation rule for user 7 (task 42)"),
])
def test_a_task_from_an_automation_rule_says_so(language: str, words: str) -> None:
    assert words in rule_task_note("Prepare the contract", 7, "42", language)

"""The timeline note that announces a task created from a CRM card, per language
(English when the language has no wording)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mappers.statuses import language_code

_WORDING: Mapping[str, str] = MappingProxyType({
    "en": "Task «{title}» created from the card for user {responsible} (task {task}) "
          "· TaskBridge",
    "it": "Incarico «{title}» creato dalla scheda per l'utente {responsible} "
          "(incarico {task}) · TaskBridge",
})


_RULE_WORDING: Mapping[str, str] = MappingProxyType({
    "en": "Task «{title}» created by an automation rule for user {responsible} (task {task}) "
          "· TaskBridge",
    "it": "Incarico «{title}» creato da una regola di automazione per l'utente {responsible} "
          "(incarico {task}) · TaskBridge",
})


def rule_task_note(title: str, responsible_id: int, task: str, language: str | None) -> str:
    """The note for a task made by TaskBridge's "Create a task" automation rule."""
    wording = _RULE_WORDING.get(language_code(language), _RULE_WORDING["en"])
    return wording.format(title=title, responsible=responsible_id, task=task)


def card_task_note(title: str, responsible_id: int, task: str, language: str | None) -> str:
    """The note for a task made from a card; `task` is its ID (or a reference to it)."""
    wording = _WORDING.get(language_code(language), _WORDING["en"])
    return wording.format(title=title, responsible=responsible_id, task=task)

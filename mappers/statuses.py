"""The ten CRM task statuses, their labels, and the transition table (spec §1, §3)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from mappers.errors import LabelsError


class CrmTaskStatus(StrEnum):
    """The CRM status a task bound to a CRM item holds."""

    CREATED = "CREATED"
    VIEWED = "VIEWED"
    UPDATED = "UPDATED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING = "WAITING"
    CONTROL_WAITING = "CONTROL_WAITING"
    DEADLINE_CHANGED = "DEADLINE_CHANGED"
    RESULT_ADDED = "RESULT_ADDED"
    EXPIRED = "EXPIRED"
    FINISHED = "FINISHED"


S = CrmTaskStatus

ENGLISH_LABELS: Mapping[CrmTaskStatus, str] = MappingProxyType(
    {
        S.CREATED: "Created, not viewed",
        S.VIEWED: "Viewed",
        S.UPDATED: "Updated",
        S.IN_PROGRESS: "In progress",
        S.WAITING: "On hold",
        S.CONTROL_WAITING: "Pending review",
        S.DEADLINE_CHANGED: "Deadline updated",
        S.RESULT_ADDED: "Task summary",
        S.EXPIRED: "Overdue",
        S.FINISHED: "Completed",
    }
)

# The article's own words (seed/crm-tasks-article.it.txt).
ITALIAN_LABELS: Mapping[CrmTaskStatus, str] = MappingProxyType(
    {
        S.CREATED: "Creato, non visualizzato",
        S.VIEWED: "Visualizzato",
        S.UPDATED: "Aggiornato",
        S.IN_PROGRESS: "In corso",
        S.WAITING: "In sospeso",
        S.CONTROL_WAITING: "Revisione in sospeso",
        S.DEADLINE_CHANGED: "Scadenza aggiornata",
        S.RESULT_ADDED: "Riepilogo incarico",
        S.EXPIRED: "Posticipato",
        S.FINISHED: "Completato",
    }
)

DEFAULT_LANGUAGE = "en"

_labels_by_language: dict[str, Mapping[CrmTaskStatus, str]] = {
    "en": ENGLISH_LABELS,
    "it": ITALIAN_LABELS,
}


@lru_cache(maxsize=256)
def language_code(language: str | None) -> str:
    """Normalize a portal language (``it``, ``IT``, ``it-IT``, ``it_IT``) to its base code."""
    if not language:
        return DEFAULT_LANGUAGE
    return language.strip().lower().replace("_", "-").split("-", 1)[0] or DEFAULT_LANGUAGE


def labels_for(language: str | None) -> Mapping[CrmTaskStatus, str]:
    """All ten labels in a language; English when the language is unknown."""
    return _labels_by_language.get(language_code(language), ENGLISH_LABELS)


def label(status: CrmTaskStatus, language: str | None = DEFAULT_LANGUAGE) -> str:
    """The label of a status in a portal language; English when the language is unknown."""
    return labels_for(language)[CrmTaskStatus(status)]


def register_language(code: str, labels: Mapping[CrmTaskStatus | str, str]) -> None:
    """Add (or replace) the labels of a language; all ten statuses need a non-empty label."""
    normalized = language_code(code)
    if normalized != code.strip().lower() or not normalized.isalpha():
        raise LabelsError(f"language code {code!r} must be a base code such as 'de'")
    try:
        given = {CrmTaskStatus(key): value for key, value in labels.items()}
    except ValueError as exc:
        raise LabelsError(f"labels for {code!r} name an unknown status: {exc}") from exc
    missing = [status.value for status in CrmTaskStatus if status not in given]
    if missing:
        raise LabelsError(f"labels for {code!r} lack {', '.join(missing)}")
    blank = [s.value for s, text in given.items() if not isinstance(text, str) or not text.strip()]
    if blank:
        raise LabelsError(f"labels for {code!r} are empty for {', '.join(blank)}")
    _labels_by_language[normalized] = MappingProxyType(
        {status: given[status].strip() for status in CrmTaskStatus}
    )


def registered_languages() -> frozenset[str]:
    """The language codes that have labels."""
    return frozenset(_labels_by_language)


_ALL = frozenset(CrmTaskStatus)

# §3 transition rule: from -> the statuses it may go to. Never to itself.
TRANSITIONS: Mapping[CrmTaskStatus, frozenset[CrmTaskStatus]] = MappingProxyType(
    {
        S.CREATED: _ALL - {S.CREATED},
        S.VIEWED: _ALL - {S.VIEWED, S.CREATED},
        S.UPDATED: frozenset(
            {
                S.WAITING,
                S.IN_PROGRESS,
                S.DEADLINE_CHANGED,
                S.RESULT_ADDED,
                S.EXPIRED,
                S.CONTROL_WAITING,
                S.FINISHED,
            }
        ),
        S.IN_PROGRESS: frozenset(
            {
                S.UPDATED,
                S.WAITING,
                S.DEADLINE_CHANGED,
                S.RESULT_ADDED,
                S.EXPIRED,
                S.CONTROL_WAITING,
                S.FINISHED,
            }
        ),
        S.WAITING: frozenset(
            {
                S.UPDATED,
                S.IN_PROGRESS,
                S.DEADLINE_CHANGED,
                S.RESULT_ADDED,
                S.EXPIRED,
                S.CONTROL_WAITING,
                S.FINISHED,
            }
        ),
        S.DEADLINE_CHANGED: frozenset(
            {
                S.IN_PROGRESS,
                S.WAITING,
                S.RESULT_ADDED,
                S.EXPIRED,
                S.CONTROL_WAITING,
                S.FINISHED,
            }
        ),
        S.RESULT_ADDED: frozenset(
            {
                S.IN_PROGRESS,
                S.WAITING,
                S.DEADLINE_CHANGED,
                S.EXPIRED,
                S.CONTROL_WAITING,
                S.FINISHED,
            }
        ),
        S.EXPIRED: frozenset({S.CONTROL_WAITING, S.FINISHED, S.DEADLINE_CHANGED}),
        S.CONTROL_WAITING: frozenset({S.WAITING, S.IN_PROGRESS, S.EXPIRED, S.FINISHED}),
        S.FINISHED: frozenset({S.WAITING}),
    }
)

# §3 actor rule: these are ignored when the actor is the responsible of a bound CRM item.
ACTOR_RULE_STATUSES: frozenset[CrmTaskStatus] = frozenset(
    {S.VIEWED, S.UPDATED, S.RESULT_ADDED, S.CONTROL_WAITING}
)


def may_transition(current: CrmTaskStatus | None, new: CrmTaskStatus) -> bool:
    """Whether the transition table lets ``current`` become ``new`` (no status: anything)."""
    if current is None:
        return True
    return new in TRANSITIONS[current]

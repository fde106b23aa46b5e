"""Reason phrases for timeline entries, per language (English when unknown)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from mappers.closing import ClosingReason
from mappers.decisions import Rule
from mappers.statuses import language_code

_ITALIAN: Mapping[StrEnum, str] = MappingProxyType(
    {
        Rule.FIRST_SEEN_SELF_ASSIGNED: "incarico creato dal suo stesso responsabile",
        Rule.FIRST_SEEN: "incarico creato",
        Rule.VIEWED: "il responsabile ha visualizzato l'incarico",
        Rule.STARTED: "il responsabile ha avviato l'incarico",
        Rule.PENDING: "l'incarico è tornato in attesa",
        Rule.PENDING_OVERDUE: "l'incarico è tornato in attesa dopo la scadenza",
        Rule.REOPENED: "l'incarico completato è stato riaperto o restituito",
        Rule.SUPPOSEDLY_COMPLETED: "il responsabile ha completato l'incarico; "
        "il creatore deve accettarlo",
        Rule.COMPLETED: "l'incarico è stato completato",
        Rule.OTHER_REAL_STATUS: "lo stato dell'incarico è cambiato",
        Rule.DEADLINE_CHANGED: "la scadenza è stata modificata",
        Rule.RESULT_ADDED: "è stato aggiunto un risultato",
        Rule.OVERDUE: "la scadenza è passata e l'incarico non è completato",
        Rule.FIELDS_CHANGED: "l'incarico è stato modificato",
        Rule.CLOSED_WITH_ITEM: "chiuso automaticamente con l'elemento CRM",
        ClosingReason.ITEM_CLOSED: "l'elemento CRM è stato chiuso",
        ClosingReason.UNDER_CONTROL: "l'elemento CRM è stato chiuso; "
        "il creatore deve revisionare l'incarico",
        ClosingReason.ALREADY_IN_REVIEW: "già in attesa della revisione del creatore",
        ClosingReason.LEAD_SETTING_OFF: "il portale lascia aperti gli incarichi "
        "quando un lead viene chiuso",
        ClosingReason.DEAL_SETTING_OFF: "il portale lascia aperti gli incarichi "
        "quando un affare viene chiuso",
        ClosingReason.HELD_FOR_REVIEW: "l'affare resta nella fase di revisione "
        "finché i suoi incarichi non sono completati",
    }
)

_BY_LANGUAGE: Mapping[str, Mapping[StrEnum, str]] = MappingProxyType({"it": _ITALIAN})


_REASONS: tuple[StrEnum, ...] = (*Rule, *ClosingReason)
_ENGLISH: Mapping[StrEnum, str] = MappingProxyType({reason: reason.value for reason in _REASONS})
_COMPLETE: Mapping[str, Mapping[StrEnum, str]] = MappingProxyType(
    {code: MappingProxyType({**_ENGLISH, **phrases}) for code, phrases in _BY_LANGUAGE.items()}
)


def reason_phrases(language: str | None) -> Mapping[StrEnum, str]:
    """Every rule and closing reason in words, in the portal language (English otherwise)."""
    return _COMPLETE.get(language_code(language), _ENGLISH)


def reason_text(reason: Rule | ClosingReason, language: str | None) -> str:
    """A rule or closing reason in words, in the portal language (English otherwise)."""
    return reason_phrases(language)[reason]

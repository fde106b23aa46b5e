"""A status decision in words, for the sync log: which rule, which transition, and why it
was or was not applied, in English or Italian (English when unknown).

    explain(decision, "en")
    # "IN_PROGRESS → WAITING: real status became 2 (pending)"
    # "ignored: the actor is the deal's responsible (actor rule); the responsible viewed it"
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mappers.decisions import Decision, Outcome, Rule
from mappers.reasons import reason_text
from mappers.statuses import CrmTaskStatus, language_code

_SENTENCES: Mapping[str, Mapping[Outcome, str]] = MappingProxyType({
    "en": {
        Outcome.APPLIED: "{previous} → {desired}: {rule}",
        Outcome.NO_STATUS: "no status change: {rule}",
        Outcome.ACTOR_RULE: "ignored: the actor is the {holder} responsible (actor rule); "
                            "{rule}",
        Outcome.SAME_STATUS: "ignored: already {desired} (transition rule); {rule}",
        Outcome.NOT_ALLOWED: "ignored: {previous} → {desired} is not allowed "
                             "(transition rule); {rule}",
    },
    "it": {
        Outcome.APPLIED: "{previous} → {desired}: {rule}",
        Outcome.NO_STATUS: "nessun cambio di stato: {rule}",
        Outcome.ACTOR_RULE: "ignorata: chi ha agito è il responsabile {holder} "
                            "(regola dell'autore); {rule}",
        Outcome.SAME_STATUS: "ignorata: già {desired} (regola delle transizioni); {rule}",
        Outcome.NOT_ALLOWED: "ignorata: {previous} → {desired} non è consentito "
                             "(regola delle transizioni); {rule}",
    },
})
# Whose responsible the actor is, by the bound item's kind.
_HOLDERS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "en": {"deal": "deal's", "lead": "lead's", "contact": "contact's",
           "company": "company's", "dynamic": "smart-process item's", "": "CRM item's"},
    "it": {"deal": "della trattativa", "lead": "del lead", "contact": "del contatto",
           "company": "dell'azienda", "dynamic": "dell'elemento del processo smart",
           "": "dell'elemento CRM"},
})
_NONE = MappingProxyType({"en": "none", "it": "nessuno"})


def explain(decision: Decision, language: str | None, *, actor_of: str | None = None) -> str:
    """The decision in one sentence; `actor_of` names the kind of item (deal, company...) whose
    responsible made the change, when the actor rule held it back."""
    code = language_code(language)
    code = code if code in _SENTENCES else "en"
    rule = reason_text(decision.rule, code) if code != "en" else decision.rule.value
    holders = _HOLDERS[code]
    return _SENTENCES[code][decision.outcome].format(
        previous=_code(decision.previous, code), desired=_code(decision.desired, code),
        rule=rule, holder=holders.get(actor_of or "", holders[""]),
    )


def explain_row(row: Mapping[str, object], language: str | None) -> str | None:
    """`explain` for a decision as the sync log stores it (`rule` and `outcome` by their
    values); None when the row names no rule or outcome TaskBridge knows."""
    try:
        decision = Decision(
            status=None, outcome=Outcome(str(row.get("outcome"))),
            rule=Rule(str(row.get("rule"))), previous=_status(row.get("previous")),
            desired=_status(row.get("desired")), change_id=str(row.get("change") or ""),
        )
    except ValueError:
        return None
    actor_of = row.get("actor_of")
    return explain(decision, language, actor_of=str(actor_of) if actor_of else None)


def _status(value: object) -> CrmTaskStatus | None:
    return CrmTaskStatus(str(value)) if value else None


def _code(status: CrmTaskStatus | None, language: str) -> str:
    return status.value if status is not None else _NONE[language]

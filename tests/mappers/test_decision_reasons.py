"""Every status decision reads as which rule, which transition, and why, in en and it."""

from __future__ import annotations

import pytest

from mappers.decision_reasons import explain, explain_row
from mappers.decisions import Decision, Outcome, Rule
from mappers.reasons import reason_text
from mappers.statuses import CrmTaskStatus as S


def decision(outcome: Outcome, rule: Rule, previous: S | None, desired: S | None) -> Decision:
    applied = desired if outcome is Outcome.APPLIED else None
    return Decision(applied, outcome, rule, previous, desired, "change-1")


@pytest.mark.parametrize(("made", "language", "actor_of", "sentence"), [
    (decision(Outcome.APPLIED, Rule.PENDING, S.IN_PROGRESS, S.WAITING), "en", None,
     "IN_PROGRESS → WAITING: real status became 2 (pending)"),
    (decision(Outcome.APPLIED, Rule.PENDING, S.IN_PROGRESS, S.WAITING), "it-IT", None,
     "IN_PROGRESS → WAITING: l'incarico è tornato in attesa"),
    (decision(Outcome.APPLIED, Rule.FIRST_SEEN, None, S.CREATED), "en", None,
     "none → CREATED: task first seen"),
    (decision(Outcome.ACTOR_RULE, Rule.FIELDS_CHANGED, S.VIEWED, S.UPDATED), "en", "deal",
     "ignored: the actor is the deal's responsible (actor rule); "
     "description, people, checklist, group or other fields changed"),
    (decision(Outcome.ACTOR_RULE, Rule.VIEWED, S.CREATED, S.VIEWED), "it", "lead",
     "ignorata: chi ha agito è il responsabile del lead (regola dell'autore); "
     "il responsabile ha visualizzato l'incarico"),
    (decision(Outcome.ACTOR_RULE, Rule.FIELDS_CHANGED, S.VIEWED, S.UPDATED), "en", "company",
     "ignored: the actor is the company's responsible (actor rule); "
     "description, people, checklist, group or other fields changed"),
    (decision(Outcome.ACTOR_RULE, Rule.RESULT_ADDED, S.VIEWED, S.RESULT_ADDED), "it",
     "dynamic", "ignorata: chi ha agito è il responsabile dell'elemento del processo smart "
     "(regola dell'autore); " + reason_text(Rule.RESULT_ADDED, "it")),
    (decision(Outcome.ACTOR_RULE, Rule.VIEWED, S.CREATED, S.VIEWED), "en", None,
     "ignored: the actor is the CRM item's responsible (actor rule); "
     "the responsible viewed it"),
    (decision(Outcome.SAME_STATUS, Rule.STARTED, S.IN_PROGRESS, S.IN_PROGRESS), "en", None,
     "ignored: already IN_PROGRESS (transition rule); real status became 3 (in progress)"),
    (decision(Outcome.NOT_ALLOWED, Rule.VIEWED, S.FINISHED, S.VIEWED), "it", None,
     "ignorata: FINISHED → VIEWED non è consentito (regola delle transizioni); "
     "il responsabile ha visualizzato l'incarico"),
    (decision(Outcome.NO_STATUS, Rule.OTHER_REAL_STATUS, S.WAITING, None), "fr", None,
     "no status change: real status became 6 (deferred) or another"),
])
def test_a_decision_in_words(made: Decision, language: str, actor_of: str | None,
                             sentence: str) -> None:
    assert explain(made, language, actor_of=actor_of) == sentence


def test_a_stored_row_reads_the_same_and_an_unknown_one_reads_as_nothing() -> None:
    row = {"rule": Rule.STARTED.value, "outcome": Outcome.APPLIED.value,
           "previous": "VIEWED", "desired": "IN_PROGRESS", "change": "c"}
    assert explain_row(row, "en") == "VIEWED → IN_PROGRESS: real status became 3 (in progress)"
    assert explain_row({**row, "rule": "§3 viewed"}, "en") is None

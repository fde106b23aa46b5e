"""Spec §1 (the ten statuses and their labels) and the §3 tables as data."""

import pytest

from mappers import statuses
from mappers.errors import LabelsError, ValidationError
from mappers.statuses import (
    ACTOR_RULE_STATUSES,
    TRANSITIONS,
    CrmTaskStatus,
    label,
    labels_for,
    language_code,
    may_transition,
    register_language,
    registered_languages,
)

S = CrmTaskStatus

# spec §1: code | English label | Italian label (article)
SECTION_1 = [
    ("CREATED", "Created, not viewed", "Creato, non visualizzato"),
    ("VIEWED", "Viewed", "Visualizzato"),
    ("UPDATED", "Updated", "Aggiornato"),
    ("IN_PROGRESS", "In progress", "In corso"),
    ("WAITING", "On hold", "In sospeso"),
    ("CONTROL_WAITING", "Pending review", "Revisione in sospeso"),
    ("DEADLINE_CHANGED", "Deadline updated", "Scadenza aggiornata"),
    ("RESULT_ADDED", "Task summary", "Riepilogo incarico"),
    ("EXPIRED", "Overdue", "Posticipato"),
    ("FINISHED", "Completed", "Completato"),
]


def test_there_are_exactly_the_ten_statuses_of_the_spec():
    assert [status.value for status in CrmTaskStatus] == [row[0] for row in SECTION_1]


@pytest.mark.parametrize(("code", "english", "italian"), SECTION_1)
def test_labels_in_english_and_italian(code, english, italian):
    assert label(S(code), "en") == english
    assert label(S(code), "it") == italian


@pytest.mark.parametrize("language", ["de", "", None, "xx-YY"])
def test_an_unknown_language_gets_english(language):
    assert label(S.EXPIRED, language) == "Overdue"


@pytest.mark.parametrize("language", ["it", "IT", "it-IT", "it_IT", " it "])
def test_portal_language_variants_pick_italian(language):
    assert label(S.FINISHED, language) == "Completato"


def test_language_code_normalizes():
    assert language_code("pt_BR") == "pt"
    assert language_code("-") == "en"


def test_a_status_code_string_is_accepted():
    assert label("WAITING", "en") == "On hold"  # type: ignore[arg-type]


GERMAN = {
    "CREATED": "Erstellt, nicht angesehen",
    "VIEWED": "Angesehen",
    "UPDATED": "Aktualisiert",
    "IN_PROGRESS": "In Arbeit",
    "WAITING": "Angehalten",
    "CONTROL_WAITING": "Wartet auf Prüfung",
    "DEADLINE_CHANGED": "Frist geändert",
    "RESULT_ADDED": "Ergebnis",
    "EXPIRED": "Überfällig",
    "FINISHED": "Abgeschlossen",
}


@pytest.fixture(autouse=True)
def registrations_end_with_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """A language a test registers must not leak into tests that run after it."""
    monkeypatch.setattr(statuses, "_labels_by_language", dict(statuses._labels_by_language))


def test_register_language_adds_labels():
    register_language("de", {**GERMAN, "FINISHED": " Abgeschlossen "})
    assert "de" in registered_languages()
    assert label(S.FINISHED, "de-DE") == "Abgeschlossen"
    assert labels_for("de")[S.VIEWED] == "Angesehen"


@pytest.mark.parametrize(
    ("code", "labels", "message"),
    [
        ("de", {k: v for k, v in GERMAN.items() if k != "EXPIRED"}, "lack EXPIRED"),
        ("de", {**GERMAN, "VIEWED": "  "}, "empty for VIEWED"),
        ("de", {**GERMAN, "VIEWED": None}, "empty for VIEWED"),
        ("de", {**GERMAN, "DONE": "Fertig"}, "unknown status"),
        ("de-DE", GERMAN, "base code"),
        ("", GERMAN, "base code"),
        ("d1", GERMAN, "base code"),
    ],
)
def test_register_language_refuses_incomplete_labels(code, labels, message):
    with pytest.raises(LabelsError, match=message) as caught:
        register_language(code, labels)
    assert isinstance(caught.value, ValidationError)


# spec §3, transition rule: from | may go to ("*" = any other)
SECTION_3_TRANSITIONS = [
    ("CREATED", "*"),
    ("VIEWED", "* but CREATED"),
    (
        "UPDATED",
        "WAITING IN_PROGRESS DEADLINE_CHANGED RESULT_ADDED EXPIRED CONTROL_WAITING FINISHED",
    ),
    (
        "IN_PROGRESS",
        "UPDATED WAITING DEADLINE_CHANGED RESULT_ADDED EXPIRED CONTROL_WAITING FINISHED",
    ),
    (
        "WAITING",
        "UPDATED IN_PROGRESS DEADLINE_CHANGED RESULT_ADDED EXPIRED CONTROL_WAITING FINISHED",
    ),
    ("DEADLINE_CHANGED", "IN_PROGRESS WAITING RESULT_ADDED EXPIRED CONTROL_WAITING FINISHED"),
    ("RESULT_ADDED", "IN_PROGRESS WAITING DEADLINE_CHANGED EXPIRED CONTROL_WAITING FINISHED"),
    ("EXPIRED", "CONTROL_WAITING FINISHED DEADLINE_CHANGED"),
    ("CONTROL_WAITING", "WAITING IN_PROGRESS EXPIRED FINISHED"),
    ("FINISHED", "WAITING"),
]


def expected_targets(source: str, spec: str) -> frozenset[CrmTaskStatus]:
    others = frozenset(CrmTaskStatus) - {S(source)}
    if spec == "*":
        return others
    if spec == "* but CREATED":
        return others - {S.CREATED}
    return frozenset(S(code) for code in spec.split())


@pytest.mark.parametrize(("source", "targets"), SECTION_3_TRANSITIONS)
def test_transition_table_row(source, targets):
    assert TRANSITIONS[S(source)] == expected_targets(source, targets)
    assert S(source) not in TRANSITIONS[S(source)]


def test_transition_table_has_a_row_per_status():
    assert set(TRANSITIONS) == set(CrmTaskStatus)


def test_actor_rule_statuses_are_those_of_section_3():
    assert {S.VIEWED, S.UPDATED, S.RESULT_ADDED, S.CONTROL_WAITING} == ACTOR_RULE_STATUSES


@pytest.mark.parametrize("status", list(CrmTaskStatus))
def test_a_task_with_no_status_may_take_any(status):
    assert may_transition(None, status)
    assert may_transition(S.CREATED, status) is (status is not S.CREATED)

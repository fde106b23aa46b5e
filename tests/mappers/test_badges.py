"""TaskBridge's kanban badges: one per status, coloured by meaning, in English and Italian."""

import pytest

from mappers.badges import (
    BADGE_TYPE_NAMES,
    BADGE_TYPES,
    Badge,
    badge,
    badge_code,
    badge_colour,
    badge_type,
    badges,
    missing_badges,
    stale_badges,
    status_of_badge,
)
from mappers.statuses import CrmTaskStatus

S = CrmTaskStatus

# status | badge code | type | colour | English value | Italian value
BADGE_TABLE = [
    (
        S.CREATED,
        "taskbridge_created",
        "secondary",
        "grey",
        "Created, not viewed",
        "Creato, non visualizzato",
    ),
    (S.VIEWED, "taskbridge_viewed", "secondary", "grey", "Viewed", "Visualizzato"),
    (S.UPDATED, "taskbridge_updated", "secondary", "grey", "Updated", "Aggiornato"),
    (S.IN_PROGRESS, "taskbridge_in_progress", "primary", "blue", "In progress", "In corso"),
    (S.WAITING, "taskbridge_waiting", "secondary", "grey", "On hold", "In sospeso"),
    (
        S.CONTROL_WAITING,
        "taskbridge_control_waiting",
        "warning",
        "yellow",
        "Pending review",
        "Revisione in sospeso",
    ),
    (
        S.DEADLINE_CHANGED,
        "taskbridge_deadline_changed",
        "secondary",
        "grey",
        "Deadline updated",
        "Scadenza aggiornata",
    ),
    (
        S.RESULT_ADDED,
        "taskbridge_result_added",
        "secondary",
        "grey",
        "Task summary",
        "Riepilogo incarico",
    ),
    (S.EXPIRED, "taskbridge_expired", "failure", "red", "Overdue", "Posticipato"),
    (S.FINISHED, "taskbridge_finished", "success", "green", "Completed", "Completato"),
]


@pytest.mark.parametrize(("status", "code", "kind", "colour", "english", "italian"), BADGE_TABLE)
def test_each_status_has_its_badge(status, code, kind, colour, english, italian):
    assert badge_code(status) == code
    assert status_of_badge(code) is status
    assert badge_type(status) == kind
    assert badge_colour(status.value) == colour
    assert badge(status) == Badge(
        code=code,
        type=kind,
        title={"en": "Task status", "it": "Stato incarico"},
        value={"en": english, "it": italian},
    )


def test_every_type_is_one_the_portal_knows():
    assert set(BADGE_TYPES) == set(CrmTaskStatus)
    assert set(BADGE_TYPES.values()) == BADGE_TYPE_NAMES


def test_badges_lists_the_ten_in_status_order():
    assert [b.code for b in badges()] == [row[1] for row in BADGE_TABLE]


def test_english_always_comes_first_as_the_portals_fallback():
    assert list(badge(S.EXPIRED, ["it-IT"]).value) == ["en", "it"]
    assert list(badge(S.EXPIRED, ["en", "EN"]).value) == ["en"]


def test_an_unknown_language_gets_english_words():
    assert badge(S.FINISHED, ["de"]).value == {"en": "Completed", "de": "Completed"}
    assert badge(S.FINISHED, ["de"]).title["de"] == "Task status"


def test_add_params_are_what_crm_activity_badge_add_takes():
    assert badge(S.EXPIRED, ["en"]).add_params() == {
        "code": "taskbridge_expired",
        "title": {"en": "Task status"},
        "value": {"en": "Overdue"},
        "type": "failure",
    }


@pytest.mark.parametrize("code", ["missedCall", "taskbridge_", "taskbridge_nope"])
def test_a_code_that_is_not_taskbridges_has_no_status(code):
    assert status_of_badge(code) is None


def test_a_reinstall_adds_only_the_badges_the_portal_lacks():
    wanted = badges()
    listed = [{"code": b.code, "type": b.type, "value": b.value["en"]} for b in wanted[:8]]
    listed.append({"code": "missedCall", "type": "failure", "value": "Missed"})
    assert missing_badges(wanted, listed) == wanted[8:]
    assert missing_badges(wanted, listed + [{"code": b.code} for b in wanted[8:]]) == []


def test_a_listed_badge_that_shows_something_else_is_stale():
    wanted = badges()
    expired, finished, created = badge(S.EXPIRED), badge(S.FINISHED), badge(S.CREATED)
    listed = [
        {"code": expired.code, "type": "secondary", "value": "Overdue"},  # wrong colour
        {"code": finished.code, "type": "success", "value": "Done"},  # old words
        {"code": created.code, "type": "secondary", "value": "Creato, non visualizzato"},
        {"code": badge_code(S.VIEWED), "type": "secondary", "value": dict(badge(S.VIEWED).value)},
        {"code": badge_code(S.UPDATED), "type": "secondary", "value": {"en": "Changed"}},
        {"code": "missedCall", "type": "failure", "value": "Missed"},
    ]
    assert stale_badges(wanted, listed) == [expired, finished, badge(S.UPDATED)]

"""What changed between two task snapshots (the order they happened in: test_change_order)."""

from datetime import UTC, datetime, timedelta

import pytest

from mappers.bindings import CrmRef
from mappers.changes import (
    CHANGE_ORDER,
    Change,
    ChangeKind,
    changed_fields,
    unexplained_edit,
    what_changed,
)
from mappers.snapshots import TaskSnapshot

K = ChangeKind
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CREATOR, RESPONSIBLE, AUDITOR = 1, 2, 3


def task(**fields) -> TaskSnapshot:
    base = {
        "id": 42,
        "title": "Prepare the contract",
        "real_status": 2,
        "created_by": CREATOR,
        "responsible_id": RESPONSIBLE,
        "changed_date": NOW - timedelta(hours=2),
        "status_changed_date": NOW - timedelta(hours=2),
        "crm_bindings": (CrmRef(2, 12),),
        "tags": ("CRM",),
        "checklist_digest": "a" * 32,
        "result_count": 0,
    }
    return TaskSnapshot(**{**base, **fields})


BEFORE = task()


def kinds(changes: list[Change]) -> list[ChangeKind]:
    return [c.kind for c in changes]


def test_the_order_is_first_seen_viewed_status_deadline_result_fields_overdue():
    assert CHANGE_ORDER == (K.FIRST_SEEN, K.VIEWED, K.REAL_STATUS, K.DEADLINE, K.RESULT_ADDED,
                            K.FIELDS, K.OVERDUE)  # fmt: skip


# previous | current | actor | expected kinds
TABLE = [
    ("nothing changed", BEFORE, BEFORE, AUDITOR, []),
    ("first seen", None, BEFORE, CREATOR, [K.FIRST_SEEN]),
    ("first seen already started", None, task(real_status=3), CREATOR,
     [K.FIRST_SEEN, K.REAL_STATUS]),
    ("first seen deferred", None, task(real_status=6), CREATOR, [K.FIRST_SEEN]),
    ("started by the responsible", BEFORE, task(real_status=3), RESPONSIBLE,
     [K.VIEWED, K.REAL_STATUS]),
    ("started by someone else", BEFORE, task(real_status=3), CREATOR, [K.REAL_STATUS]),
    ("deadline moved", BEFORE, task(deadline=NOW + timedelta(days=3)), CREATOR, [K.DEADLINE]),
    ("result added", BEFORE, task(result_count=1), AUDITOR, [K.RESULT_ADDED]),
    ("description edited", BEFORE, task(description="new terms"), AUDITOR, [K.FIELDS]),
    ("checklist added", BEFORE, task(checklist_digest="b" * 32), AUDITOR, [K.FIELDS]),
    # One date for all (changedDate == statusChangedDate): the start was the last act, the
    # edits came before it (change_order).
    ("everything at once", BEFORE,
     task(real_status=3, deadline=NOW + timedelta(days=1), result_count=2, title="Sign it"),
     RESPONSIBLE, [K.VIEWED, K.DEADLINE, K.RESULT_ADDED, K.FIELDS, K.REAL_STATUS]),
    ("only the CRM tag added", task(tags=()), BEFORE, AUDITOR, []),
    ("a user tag added", BEFORE, task(tags=("CRM", "urgent")), AUDITOR, [K.FIELDS]),
    ("checklist unknown before", task(checklist_digest=None), BEFORE, AUDITOR, []),
    ("results unknown now", BEFORE, task(result_count=None), AUDITOR, []),
    ("a result removed", task(result_count=2), task(result_count=1), AUDITOR, []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "previous", "current", "actor", "expected"), TABLE,
                         ids=[row[0] for row in TABLE])  # fmt: skip
def test_what_changed(name, previous, current, actor, expected):
    assert kinds(what_changed(previous, current, actor_id=actor)) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Send the quote"),
        ("description", "More detail"),
        ("responsible_id", 9),
        ("accomplices", (4,)),
        ("auditors", (5,)),
        ("checklist_digest", "c" * 32),
        ("group_id", 7),
        ("tags", ("CRM", "vip")),
        ("crm_bindings", (CrmRef(2, 12), CrmRef(3, 4))),
        ("task_control", True),
        ("result_required", True),
    ],
)
def test_each_other_field_counts_as_an_update(field, value):
    assert changed_fields(BEFORE, task(**{field: value})) == (field,)


def test_changes_that_are_not_updates():
    later = task(changed_by=7, changed_date=NOW, not_viewed_by_responsible=True, closed_date=NOW)
    assert what_changed(BEFORE, later, actor_id=AUDITOR) == []


def test_own_writes_never_count():
    current = task(tags=("CRM", "vip"), real_status=5)
    own = frozenset({"tags", "real_status"})
    assert what_changed(BEFORE, current, actor_id=AUDITOR, own_write_fields=own) == []
    moved = task(deadline=NOW)
    assert what_changed(BEFORE, moved, actor_id=1, own_write_fields=frozenset({"deadline"})) == []


def test_first_seen_tells_whether_creator_is_responsible():
    (first,) = what_changed(None, task(responsible_id=CREATOR), actor_id=CREATOR)
    assert first == Change(K.FIRST_SEEN, CREATOR, "first_seen", self_assigned=True)
    (first,) = what_changed(None, BEFORE, actor_id=CREATOR)
    assert first.self_assigned is False


def test_viewed_when_the_caller_saw_a_sign():
    changes = what_changed(BEFORE, BEFORE, actor_id=RESPONSIBLE, viewed_by_responsible=True)
    assert changes == [Change(K.VIEWED, RESPONSIBLE, "viewed")]


@pytest.mark.parametrize(
    ("before", "after", "viewed"),
    [(True, False, True), (None, False, True), (False, False, False), (True, True, False),
     (True, None, False)],
)  # fmt: skip
def test_viewed_when_the_responsibles_unviewed_marker_clears(before, after, viewed):
    previous = task(not_viewed_by_responsible=before)
    current = task(not_viewed_by_responsible=after)
    assert (kinds(what_changed(previous, current, actor_id=None)) == [K.VIEWED]) is viewed


def test_first_seen_already_viewed():
    current = task(not_viewed_by_responsible=False)
    assert kinds(what_changed(None, current, actor_id=CREATOR)) == [K.FIRST_SEEN, K.VIEWED]


def test_overdue_is_checked_on_every_event_when_now_is_given():
    late = task(deadline=NOW - timedelta(minutes=1))
    assert kinds(what_changed(late, late, actor_id=None, now=NOW)) == [K.OVERDUE]
    assert what_changed(late, late, actor_id=None) == []
    done = task(deadline=NOW - timedelta(minutes=1), real_status=5)
    assert kinds(what_changed(done, done, actor_id=None, now=NOW)) == []


def test_change_identities_are_stable_and_name_the_change():
    current = task(real_status=3, status_changed_date=datetime(2026, 11, 26, 13, tzinfo=UTC))
    first = what_changed(BEFORE, current, actor_id=CREATOR)
    assert first == what_changed(BEFORE, current, actor_id=CREATOR)
    assert first[0].identity == "real_status:2>3@2026-11-26T13:00:00+00:00"
    assert first[0].previous_real_status == 2
    edited = what_changed(BEFORE, task(description="x", deadline=None), actor_id=CREATOR)
    assert edited[0].identity == "fields:description@2026-11-26T10:00:00+00:00"


def test_a_status_that_changed_and_came_back_between_looks_is_reported() -> None:
    previous = task(real_status=2)
    later = previous.status_changed_date + timedelta(minutes=5)
    current = task(real_status=2, status_changed_date=later)
    [change] = [c for c in what_changed(previous, current, actor_id=7)
                if c.kind is ChangeKind.REAL_STATUS]
    assert (change.previous_real_status, change.real_status) == (2, 2)
    assert what_changed(previous, task(real_status=2), actor_id=7) == []
    unknown = task(real_status=2, status_changed_date=None)
    assert what_changed(unknown, current, actor_id=7) == []



@pytest.mark.parametrize(
    ("fields", "unexplained"),
    [
        ({"changed_date": NOW}, True),
        ({}, True),
        ({"changed_date": NOW, "description": "new"}, False),
        ({"real_status": 3}, False),
        ({"status_changed_date": NOW}, False),
        ({"deadline": NOW}, False),
        ({"result_count": 1}, False),
    ],
)
def test_an_edit_nothing_compared_explains(fields: dict, unexplained: bool) -> None:
    assert unexplained_edit(BEFORE, task(**fields)) is unexplained



@pytest.mark.parametrize(
    ("before", "after", "implied"),
    [
        (5, 3, True),   # renewed, then started
        (4, 3, True),   # returned, then started
        (6, 3, True),   # renewed from deferred, then started
        (7, 3, True),
        (5, 2, False),  # one renewal
        (4, 5, False),  # accepted
        (6, 5, False),  # completed from deferred
        (3, 5, False),
    ],
)
def test_a_status_no_single_action_reaches_implies_a_renewal(
    before: int, after: int, implied: bool
) -> None:
    previous = task(real_status=before)
    current = task(real_status=after, status_changed_date=NOW)
    statuses = [(c.previous_real_status, c.real_status)
                for c in what_changed(previous, current, actor_id=CREATOR)
                if c.kind is ChangeKind.REAL_STATUS]
    expected = [(before, 2), (before, after)] if implied else [(before, after)]
    assert statuses == expected



def test_the_status_change_is_the_status_changers_whoever_sent_the_event() -> None:
    current = task(real_status=4, status_changed_date=NOW, status_changed_by=RESPONSIBLE,
                   changed_by=CREATOR)
    [change] = [c for c in what_changed(BEFORE, current, actor_id=CREATOR)
                if c.kind is ChangeKind.REAL_STATUS]
    assert change.actor_id == RESPONSIBLE
    unknown = task(real_status=4, status_changed_date=NOW)
    [change] = [c for c in what_changed(BEFORE, unknown, actor_id=CREATOR)
                if c.kind is ChangeKind.REAL_STATUS]
    assert change.actor_id == CREATOR


# Spec §1 WAITING "back to pending after ... delegate"; §2 "real status became 2 (... delegate)".
IN_PROGRESS_TASK = task(real_status=3)
NEW_RESPONSIBLE = 9


def delegated(**fields) -> TaskSnapshot:
    """The task after tasks.task.delegate: pending, a new responsible, the old one an auditor."""
    base = {"real_status": 2, "responsible_id": NEW_RESPONSIBLE, "auditors": (RESPONSIBLE,),
            "changed_date": NOW, "status_changed_date": NOW}  # fmt: skip
    return task(**{**base, **fields})


def test_section_2_delegating_a_task_in_progress_is_a_status_change_to_pending_only():
    changes = what_changed(IN_PROGRESS_TASK, delegated(), actor_id=RESPONSIBLE)
    assert [(c.kind, c.real_status) for c in changes] == [(K.REAL_STATUS, 2)]


# In these two the task's changedDate is its statusChangedDate: the delegation was the last
# act, so the other edit came before it (change_order).
def test_section_2_delegation_with_another_edit_still_reports_that_edit():
    changes = what_changed(IN_PROGRESS_TASK, delegated(description="new terms"),
                           actor_id=RESPONSIBLE)  # fmt: skip
    assert [(c.kind, c.fields) for c in changes] == [
        (K.FIELDS, ("description",)),
        (K.REAL_STATUS, ()),
    ]


def test_section_2_delegation_with_other_auditors_changed_reports_the_auditors():
    changes = what_changed(IN_PROGRESS_TASK, delegated(auditors=(RESPONSIBLE, AUDITOR)),
                           actor_id=RESPONSIBLE)  # fmt: skip
    assert [(c.kind, c.fields) for c in changes] == [(K.FIELDS, ("auditors",)), (K.REAL_STATUS, ())]


def test_section_2_delegation_to_an_auditor_takes_them_off_the_auditors():
    previous = task(real_status=3, auditors=(NEW_RESPONSIBLE,))
    assert kinds(what_changed(previous, delegated(), actor_id=RESPONSIBLE)) == [K.REAL_STATUS]


def test_section_2_delegating_a_task_already_pending_is_an_edit_of_its_responsible():
    changes = what_changed(BEFORE, delegated(status_changed_date=BEFORE.status_changed_date),
                           actor_id=RESPONSIBLE)  # fmt: skip
    assert [(c.kind, c.fields) for c in changes] == [(K.FIELDS, ("responsible_id", "auditors"))]


def test_a_new_responsible_with_a_status_change_other_than_pending_is_an_edit():
    changes = what_changed(BEFORE, task(real_status=3, responsible_id=NEW_RESPONSIBLE,
                                        status_changed_date=NOW), actor_id=CREATOR)  # fmt: skip
    assert [(c.kind, c.fields) for c in changes] == [
        (K.REAL_STATUS, ()),
        (K.FIELDS, ("responsible_id",)),
    ]

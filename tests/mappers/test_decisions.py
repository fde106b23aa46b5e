"""Spec §2 (what sets a status) and §3 (whether it is applied), row by row."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.changes import Change, ChangeKind
from mappers.decisions import (
    Decision,
    Outcome,
    Rule,
    decide,
    decide_closing,
    decide_observation,
    desired_status,
    final_status,
)
from mappers.statuses import ACTOR_RULE_STATUSES, TRANSITIONS, CrmTaskStatus

S = CrmTaskStatus
K = ChangeKind
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PAST = NOW - timedelta(days=1)
FUTURE = NOW + timedelta(days=1)
MANAGER, COLLEAGUE, AUDITOR = 10, 20, 30
RESPONSIBLES = frozenset({MANAGER})


def change(kind: ChangeKind, actor: int | None = COLLEAGUE, **details) -> Change:
    return Change(kind, actor, f"{kind}:test", **details)


def real(status: int, actor: int | None = COLLEAGUE) -> Change:
    return change(K.REAL_STATUS, actor, real_status=status)


# spec §2: observed change | deadline | desired status | rule
SECTION_2 = [
    ("first seen, creator == responsible", change(K.FIRST_SEEN, self_assigned=True), None,
     S.VIEWED, Rule.FIRST_SEEN_SELF_ASSIGNED),
    ("first seen, otherwise", change(K.FIRST_SEEN), None, S.CREATED, Rule.FIRST_SEEN),
    ("the responsible viewed it", change(K.VIEWED), None, S.VIEWED, Rule.VIEWED),
    ("real status became 3", real(3), None, S.IN_PROGRESS, Rule.STARTED),
    ("real status became 2", real(2), FUTURE, S.WAITING, Rule.PENDING),
    ("real status became 2, no deadline", real(2), None, S.WAITING, Rule.PENDING),
    ("real status became 2, deadline passed", real(2), PAST, S.EXPIRED, Rule.PENDING_OVERDUE),
    ("real status became 4", real(4), None, S.CONTROL_WAITING, Rule.SUPPOSEDLY_COMPLETED),
    ("real status became 5", real(5), None, S.FINISHED, Rule.COMPLETED),
    ("real status became 6", real(6), None, None, Rule.OTHER_REAL_STATUS),
    ("real status became 1", real(1), None, None, Rule.OTHER_REAL_STATUS),
    ("real status became 7", real(7), None, None, Rule.OTHER_REAL_STATUS),
    ("deadline changed", change(K.DEADLINE), None, S.DEADLINE_CHANGED, Rule.DEADLINE_CHANGED),
    ("a result was added", change(K.RESULT_ADDED), None, S.RESULT_ADDED, Rule.RESULT_ADDED),
    ("deadline passed while not completed", change(K.OVERDUE, None), PAST, S.EXPIRED,
     Rule.OVERDUE),
    ("fields changed", change(K.FIELDS, fields=("description",)), None, S.UPDATED,
     Rule.FIELDS_CHANGED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "observed", "deadline", "status", "rule"), SECTION_2, ids=[r[0] for r in SECTION_2]
)
def test_section_2_row(row, observed, deadline, status, rule):
    assert desired_status(observed, deadline, NOW) == (status, rule)
    decision = decide(
        S.CREATED, observed, item_responsibles=frozenset(), deadline=deadline, now=NOW
    )
    expected = status if status not in (None, S.CREATED) else None
    assert decision.status == expected
    assert decision.rule is rule


def test_a_change_that_sets_no_status_says_so():
    decision = decide(
        S.IN_PROGRESS, real(6), item_responsibles=RESPONSIBLES, deadline=None, now=NOW
    )
    assert decision == Decision(None, Outcome.NO_STATUS, Rule.OTHER_REAL_STATUS, S.IN_PROGRESS,
                                None, "real_status:test")  # fmt: skip
    assert not decision.applied
    assert decision.transition == (S.IN_PROGRESS, None)


# spec §3, actor rule: status | change that asks for it | ignored when made by the item's manager
ACTOR_RULE = [
    (S.VIEWED, change(K.VIEWED, MANAGER), True),
    (S.UPDATED, change(K.FIELDS, MANAGER, fields=("description",)), True),
    (S.RESULT_ADDED, change(K.RESULT_ADDED, MANAGER), True),
    (S.CONTROL_WAITING, real(4, MANAGER), True),
    (S.EXPIRED, change(K.OVERDUE, MANAGER), False),
    (S.FINISHED, real(5, MANAGER), False),
    (S.WAITING, real(2, MANAGER), False),
    (S.IN_PROGRESS, real(3, MANAGER), False),
    (S.DEADLINE_CHANGED, change(K.DEADLINE, MANAGER), False),
]


@pytest.mark.parametrize(("status", "observed", "ignored"), ACTOR_RULE)
def test_actor_rule_row(status, observed, ignored):
    by_manager = decide(S.CREATED, observed, item_responsibles=RESPONSIBLES, deadline=None, now=NOW)
    assert by_manager.desired is status
    assert by_manager.applied is not ignored
    assert (by_manager.outcome is Outcome.ACTOR_RULE) is ignored
    by_someone_else = decide(
        S.CREATED, observed, item_responsibles=frozenset({AUDITOR}), deadline=None, now=NOW
    )
    assert by_someone_else.status is status


def test_actor_rule_counts_every_bound_items_manager():
    observed = change(K.FIELDS, AUDITOR, fields=("auditors",))
    decision = decide(
        S.IN_PROGRESS, observed, item_responsibles=frozenset({MANAGER, AUDITOR}),
        deadline=None, now=NOW,
    )  # fmt: skip
    assert decision.outcome is Outcome.ACTOR_RULE


def test_first_seen_is_not_subject_to_the_actor_rule():
    observed = change(K.FIRST_SEEN, MANAGER, self_assigned=True)
    decision = decide(None, observed, item_responsibles=RESPONSIBLES, deadline=None, now=NOW)
    assert decision.status is S.VIEWED


def test_an_explicit_actor_overrides_the_changes_actor():
    observed = change(K.FIELDS, COLLEAGUE, fields=("title",))
    decision = decide(
        S.WAITING, observed, item_responsibles=RESPONSIBLES, deadline=None, now=NOW,
        actor_id=MANAGER,
    )  # fmt: skip
    assert decision.outcome is Outcome.ACTOR_RULE


def test_an_unknown_actor_passes_the_actor_rule():
    observed = change(K.FIELDS, None, fields=("title",))
    decision = decide(S.WAITING, observed, item_responsibles=RESPONSIBLES, deadline=None, now=NOW)
    assert decision.status is S.UPDATED


# One change per target status, to walk the whole transition table.
ASKS_FOR = {
    S.CREATED: change(K.FIRST_SEEN),
    S.VIEWED: change(K.VIEWED),
    S.UPDATED: change(K.FIELDS, fields=("title",)),
    S.IN_PROGRESS: real(3),
    S.WAITING: real(2),
    S.CONTROL_WAITING: real(4),
    S.DEADLINE_CHANGED: change(K.DEADLINE),
    S.RESULT_ADDED: change(K.RESULT_ADDED),
    S.EXPIRED: change(K.OVERDUE, None),
    S.FINISHED: real(5),
}

ALL_PAIRS = [(source, target) for source in CrmTaskStatus for target in CrmTaskStatus]


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_transition_rule(source, target):
    decision = decide(
        source, ASKS_FOR[target], item_responsibles=frozenset(), deadline=None, now=NOW
    )
    if source is target:
        assert decision.outcome is Outcome.SAME_STATUS
    elif target in TRANSITIONS[source]:
        assert decision.status is target
        assert decision.transition == (source, target)
    else:
        assert decision.outcome is Outcome.NOT_ALLOWED
        assert decision.status is None


def test_observation_applies_each_change_against_the_previous_result():
    changes = [change(K.VIEWED), real(3), change(K.DEADLINE), change(K.FIELDS, fields=("title",))]
    decisions = decide_observation(
        S.CREATED, changes, item_responsibles=RESPONSIBLES, deadline=FUTURE, now=NOW
    )
    assert [d.previous for d in decisions] == [S.CREATED, S.VIEWED, S.IN_PROGRESS,
                                               S.DEADLINE_CHANGED]  # fmt: skip
    assert [d.status for d in decisions] == [S.VIEWED, S.IN_PROGRESS, S.DEADLINE_CHANGED, None]
    assert final_status(S.CREATED, decisions) is S.DEADLINE_CHANGED


def test_an_overdue_task_started_stays_expired_until_its_deadline_moves():
    decisions = decide_observation(
        S.EXPIRED, [real(3), change(K.DEADLINE)], item_responsibles=frozenset(),
        deadline=FUTURE, now=NOW,
    )  # fmt: skip
    assert [d.outcome for d in decisions] == [Outcome.NOT_ALLOWED, Outcome.APPLIED]
    assert final_status(S.EXPIRED, decisions) is S.DEADLINE_CHANGED


@pytest.mark.parametrize("deadline", [None, FUTURE, PAST], ids=["no deadline", "before", "after"])
def test_section_3_a_completed_task_leaves_finished_only_when_renewed_or_returned(deadline):
    decision = decide(S.FINISHED, real(2), item_responsibles=RESPONSIBLES, deadline=deadline,
                      now=NOW)  # fmt: skip
    assert (decision.status, decision.rule) == (S.WAITING, Rule.REOPENED)


def test_section_2_renewed_after_its_deadline_a_completed_task_ends_expired():
    decisions = decide_observation(
        S.FINISHED, [real(2), change(K.OVERDUE, None)], item_responsibles=RESPONSIBLES,
        deadline=PAST, now=NOW,
    )  # fmt: skip
    assert [(d.status, d.rule) for d in decisions] == [(S.WAITING, Rule.REOPENED),
                                                       (S.EXPIRED, Rule.OVERDUE)]  # fmt: skip
    assert final_status(S.FINISHED, decisions) is S.EXPIRED


def test_closing_decisions_skip_the_actor_rule_but_keep_the_table():
    assert decide_closing(S.EXPIRED, S.CONTROL_WAITING, change_id="c").status is S.CONTROL_WAITING
    assert decide_closing(S.FINISHED, S.FINISHED, change_id="c").outcome is Outcome.SAME_STATUS
    decision = decide_closing(S.IN_PROGRESS, S.FINISHED, change_id="closing:D_1:WON:")
    assert decision == Decision(S.FINISHED, Outcome.APPLIED, Rule.CLOSED_WITH_ITEM,
                                S.IN_PROGRESS, S.FINISHED, "closing:D_1:WON:")  # fmt: skip


# Properties -------------------------------------------------------------------------

statuses = st.none() | st.sampled_from(CrmTaskStatus)
users = st.none() | st.integers(1, 6)
changes = st.builds(
    Change,
    kind=st.sampled_from(ChangeKind),
    actor_id=users,
    identity=st.text(max_size=5),
    real_status=st.none() | st.integers(1, 7),
    self_assigned=st.booleans(),
)
moments = st.none() | st.sampled_from([PAST, NOW, FUTURE])
responsibles = st.frozensets(st.integers(1, 6), max_size=3)


@settings(settings.get_profile("mappers"))
@given(current=statuses, observed=changes, managers=responsibles, deadline=moments)
def test_no_decision_breaks_the_transition_table(current, observed, managers, deadline):
    decision = decide(current, observed, item_responsibles=managers, deadline=deadline, now=NOW)
    if decision.status is not None:
        assert current is None or decision.status in TRANSITIONS[current]
        assert decision.status is not current
        assert decision.status is decision.desired
    assert decision.previous is current


@settings(settings.get_profile("mappers"))
@given(current=statuses, observed=changes, managers=responsibles, deadline=moments)
def test_actor_rule_holds_for_every_status(current, observed, managers, deadline):
    decision = decide(current, observed, item_responsibles=managers, deadline=deadline, now=NOW)
    by_manager = observed.actor_id in managers and observed.kind is not ChangeKind.FIRST_SEEN
    if by_manager and decision.desired in ACTOR_RULE_STATUSES:
        assert decision.status is None
    if decision.desired is not None and decision.desired not in ACTOR_RULE_STATUSES:
        assert decision.outcome is not Outcome.ACTOR_RULE


@settings(settings.get_profile("mappers"))
@given(current=statuses, observed=st.lists(changes, max_size=7), managers=responsibles)
def test_a_status_never_changes_to_itself_along_an_observation(current, observed, managers):
    decisions = decide_observation(
        current, observed, item_responsibles=managers, deadline=PAST, now=NOW
    )
    for decision in decisions:
        assert decision.previous is current
        if decision.status is not None:
            assert decision.status is not current
            assert current is None or decision.status in TRANSITIONS[current]
            current = decision.status

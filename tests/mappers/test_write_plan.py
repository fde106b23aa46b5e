"""Spec §6: what is written back to the portal, and never twice."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappers.bindings import CrmRef
from mappers.changes import ChangeKind, what_changed
from mappers.closing import Hold, PortalRules, StageMove, plan_closing, plan_release
from mappers.decisions import decide_closing, decide_observation, final_status
from mappers.snapshots import CrmItemSnapshot, TaskSnapshot
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import (
    STATUS_FIELD,
    Write,
    WriteKind,
    WritePlan,
    closing_summary_write,
    item_status_write,
    plan_closing_writes,
    plan_release_writes,
    plan_writes,
    tag_write,
)

S = CrmTaskStatus
W = WriteKind
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DEAL, CONTACT = CrmRef(2, 12), CrmRef(3, 4)


def task(**fields) -> TaskSnapshot:
    base = {"id": 5, "title": "Prepare the contract", "real_status": 2, "created_by": 1,
            "responsible_id": 2, "crm_bindings": (DEAL, CONTACT), "tags": ("legal",),
            "changed_date": NOW}  # fmt: skip
    return TaskSnapshot(**{**base, **fields})


def observe(previous, current, status=None, actor=1):
    changes = what_changed(previous, current, actor_id=actor)
    return decide_observation(
        status, changes, item_responsibles=frozenset({10}), deadline=current.deadline, now=NOW
    )


def test_a_new_task_gets_the_crm_tag_a_timeline_entry_per_deal_and_the_deal_status():
    created = task()
    decisions = observe(None, created)
    plan = plan_writes(created, decisions, item_statuses={DEAL: S.CREATED, CONTACT: S.CREATED},
                       language="it", status_field_values={S.CREATED: "101"})  # fmt: skip
    assert [(w.kind, w.item, w.task_id) for w in plan] == [
        (W.TASK_TAG, None, 5),
        (W.TIMELINE, DEAL, 5),
        # Only deals and leads take timeline entries and have the status field (§6): the
        # contact counts for the actor rule alone.
        (W.ITEM_STATUS, DEAL, None),
    ]
    tag, entry, field = plan.writes
    assert tag.field("tags") == ("legal", "CRM")
    assert (
        entry.field("text") == "«Prepare the contract»: Creato, non visualizzato (incarico creato)"
    )
    assert dict(field.fields) == {"field": STATUS_FIELD, "value": "101", "xml_id": "CREATED",
                                  "label": "Creato, non visualizzato"}  # fmt: skip
    assert len(plan) == 3 and plan.of_kind(W.TIMELINE) == plan.writes[1:2]
    with pytest.raises(KeyError):
        tag.field("nope")


def test_no_status_change_no_entries_and_no_tag_when_present():
    same = task(tags=("CRM", "legal"))
    plan = plan_writes(same, observe(same, same, S.VIEWED), item_statuses={DEAL: S.VIEWED})
    assert plan == WritePlan()
    assert tag_write(task(crm_bindings=())) is None


def test_ignored_decisions_write_nothing():
    before, after = task(tags=("CRM",)), task(tags=("CRM",), description="new")
    decisions = observe(before, after, S.IN_PROGRESS, actor=10)  # the deal's manager edits
    assert not any(d.applied for d in decisions)
    assert plan_writes(after, decisions, item_statuses={DEAL: S.IN_PROGRESS}) == WritePlan()


def test_clearing_the_status_when_the_last_task_goes():
    write = item_status_write(DEAL, None, cause="task:5:deleted")
    assert dict(write.fields) == {"field": STATUS_FIELD, "value": "", "xml_id": "", "label": ""}
    assert write.key != item_status_write(DEAL, S.VIEWED, cause="task:5:deleted").key


def test_english_is_the_fallback_language():
    created = task()
    plan = plan_writes(created, observe(None, created), language="fr")
    assert plan.of_kind(W.TIMELINE)[0].field("text") == (
        "«Prepare the contract»: Created, not viewed (task first seen)"
    )


def won(category_id=0) -> CrmItemSnapshot:
    return CrmItemSnapshot(entity_type_id=2, id=12, category_id=category_id, stage_id="WON",
                           stage_semantic="S", closed=True)  # fmt: skip


def test_closing_writes_close_tasks_and_their_decisions_reach_the_timeline():
    tasks = [task(id=1, real_status=3), task(id=2, real_status=3, task_control=True)]
    plan = plan_closing(won(), tasks, PortalRules(), occasion="2026-11-26T12:00")
    writes = plan_closing_writes(plan)
    assert [(w.kind, w.task_id, w.field("real_status")) for w in writes] == [
        (W.TASK_CLOSE, 1, "5"),
        (W.TASK_CLOSE, 2, "4"),
    ]
    decision = decide_closing(S.IN_PROGRESS, S.FINISHED, change_id=plan.identity)
    entry = plan_writes(tasks[0], [decision]).of_kind(W.TIMELINE)[0]
    assert entry.field("reason") == "closed automatically with its CRM item"
    assert plan_closing_writes(plan, already_written=writes.keys) == WritePlan()


def test_holding_a_deal_moves_it_and_says_why():
    plan = plan_closing(won(1), [task()], PortalRules(review_stage_by_category={1: "C1:REVIEW"}))
    writes = plan_closing_writes(plan, language="it")
    move, note = writes.writes
    assert (move.kind, move.field("stage_id")) == (W.ITEM_STAGE, "C1:REVIEW")
    assert note.kind is W.TIMELINE and "fase di revisione" in note.field("text")


def test_releasing_a_held_deal():
    hold = Hold(DEAL, "C1:REVIEW", "WON")
    move = plan_release(hold, [])
    assert move == StageMove(DEAL, "WON", held_until_tasks_done=False)
    writes = plan_release_writes(move, cause="closing:D_12:WON:")
    assert writes == WritePlan((Write(W.ITEM_STAGE, writes.writes[0].key, DEAL, None,
                                      (("stage_id", "WON"),)),))  # fmt: skip
    assert plan_release_writes(move, cause="closing:D_12:WON:", already_written=writes.keys) == (
        WritePlan()
    )


def test_section_6_the_crm_tag_is_added_again_after_someone_removes_it():
    untagged = task()
    first = plan_writes(untagged, [])
    [tag] = first.of_kind(W.TASK_TAG)
    assert plan_writes(untagged, [], already_written=first.keys) == WritePlan()  # a replay
    # TaskBridge tagged it; later a user removes the tag, which changes the task.
    removed = task(changed_date=NOW + timedelta(hours=1))
    [again] = plan_writes(removed, [], already_written=first.keys).of_kind(W.TASK_TAG)
    assert again.field("tags") == ("legal", "CRM") and again.key != tag.key
    assert tag_write(task(changed_date=None)) is not None


def test_keys_are_the_hash_of_the_facts_that_name_each_write():
    """Keys already in write logs must stay what they were: pinned to their formula."""
    import hashlib

    def expected(kind: str, *facts: object) -> str:
        text = "\x1f".join(str(fact) for fact in facts)
        return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"

    created = task()
    decisions = observe(None, created)
    plan = plan_writes(created, decisions, item_statuses={DEAL: S.CREATED})
    [entry] = plan.of_kind(W.TIMELINE)
    [field] = plan.of_kind(W.ITEM_STATUS)
    assert entry.key == expected("timeline", "D_12", 5, "CREATED", "first_seen")
    assert field.key == expected("item_status", "D_12", "CREATED", "task:5:first_seen")
    cleared = item_status_write(DEAL, None, cause="task:5:deleted")
    assert cleared.key == expected("item_status", "D_12", "-", "task:5:deleted")


def test_plans_add_up_without_repeating_a_key():
    created = task()
    plan = plan_writes(created, observe(None, created))
    assert plan + plan == plan


# Property: replaying an observation yields no new writes ------------------------------

snapshots = st.builds(
    task,
    real_status=st.integers(1, 6),
    description=st.sampled_from(["", "terms", "prices"]),
    deadline=st.sampled_from([None, NOW - timedelta(days=1), NOW + timedelta(days=1)]),
    result_count=st.sampled_from([None, 0, 1, 2]),
    tags=st.sampled_from([(), ("CRM",), ("legal",)]),
    changed_date=st.sampled_from([NOW, NOW + timedelta(minutes=1)]),
)


@settings(settings.get_profile("mappers"))
@given(
    previous=st.none() | snapshots,
    current=snapshots,
    status=st.none() | st.sampled_from(CrmTaskStatus),
    actor=st.sampled_from([None, 1, 2, 10]),
    language=st.sampled_from(["en", "it", "de"]),
)
def test_replaying_an_observation_yields_no_new_writes(previous, current, status, actor, language):
    def plan(already_written=frozenset()):
        decisions = observe(previous, current, status, actor)
        shown = {ref: status for ref in current.crm_bindings}
        return plan_writes(current, decisions, item_statuses=shown, language=language,
                           already_written=already_written)  # fmt: skip

    first = plan()
    assert plan() == first  # the same observation plans the same writes
    assert len(first.keys) == len(first)
    assert plan(first.keys) == WritePlan()


@settings(settings.get_profile("mappers"))
@given(
    previous=st.none() | snapshots,
    current=snapshots,
    status=st.none() | st.sampled_from(CrmTaskStatus),
    actor=st.sampled_from([None, 1, 2, 10]),
    now=st.sampled_from([None, NOW]),
)
def test_an_applied_observation_observed_again_yields_no_changes_and_no_writes(
    previous, current, status, actor, now
):
    """Once the worker has stored the snapshot and status an observation produced, fetching
    the same task again (a redelivered event, a reconcile pass) changes nothing."""

    def observation(before, after, status, written=frozenset()):
        changes = what_changed(before, after, actor_id=actor, now=now)
        decisions = decide_observation(status, changes, item_responsibles=frozenset({10}),
                                       deadline=after.deadline, now=NOW)  # fmt: skip
        status = final_status(status, decisions)
        shown = {ref: status for ref in after.crm_bindings}
        plan = plan_writes(after, decisions, item_statuses=shown, already_written=written)
        return changes, decisions, status, plan

    _, _, applied_status, first = observation(previous, current, status)
    changes, decisions, again_status, second = observation(
        current, current, applied_status, first.keys
    )
    # Only the overdue check, which looks at the task rather than at a change, comes back.
    assert {change.kind for change in changes} <= {ChangeKind.OVERDUE}
    assert not any(decision.applied for decision in decisions)
    assert again_status is applied_status
    assert second == WritePlan()


def test_a_closing_announces_all_its_tasks_in_one_entry() -> None:
    from mappers.closing import ClosingReason

    tasks = [task(id=1, real_status=3), task(id=2, real_status=3, task_control=True)]
    plan = plan_closing(won(), tasks, PortalRules(), occasion="2026-11-26T12:00")
    closed = [("Prepare the contract", S.FINISHED, ClosingReason.ITEM_CLOSED),
              ("Sign", S.CONTROL_WAITING, ClosingReason.UNDER_CONTROL)]
    [entry] = closing_summary_write(plan, closed, language="it")
    assert entry.kind is W.TIMELINE and entry.item == plan.item
    assert entry.field("tasks") == "2"
    assert "«Prepare the contract»: Completato" in entry.field("text")
    assert "«Sign»: Revisione in sospeso" in entry.field("text")
    assert closing_summary_write(plan, closed, already_written={entry.key}) == WritePlan()
    assert closing_summary_write(plan, []) == WritePlan()
    decision = decide_closing(S.IN_PROGRESS, S.FINISHED, change_id=plan.identity)
    quiet = plan_writes(tasks[0], [decision], timeline=False)
    assert quiet.of_kind(W.TIMELINE) == ()

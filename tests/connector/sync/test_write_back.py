"""`WriteBack` on its own, against the emulated portal: each write is logged under its
idempotency key before it is sent and marked after; a write logged as done is never sent
again, a refused one is marked failed, and one whose answer was lost is looked for on the
timeline before it is repeated."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from connector.rest.errors import OutcomeUnknown
from connector.storage.schema import write_log
from connector.sync.fetch import portal_facts
from connector.sync.write_back import WriteBack
from mappers.bindings import CrmRef
from mappers.kanban_card import CardShown, CardTask, plan_card
from mappers.statuses import CrmTaskStatus
from mappers.write_plan import Write, WriteKind, idempotency_key, item_status_write

DEAL = 2


@pytest.fixture
def deal(installed, people) -> int:  # type: ignore[no-untyped-def]
    return installed.portal.as_user(people.manager).create_deal(
        "ACME", assigned_by=people.manager)


@pytest.fixture
def write_back(installed, client) -> WriteBack:  # type: ignore[no-untyped-def]
    portal_row = installed.stored()
    facts = portal_facts(client, portal_row.member_id)
    return WriteBack(installed.storage.engine, client, portal_row.id, facts)


def logged(installed) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """The write log: state and error by idempotency key."""
    with installed.storage.engine.connect() as conn:
        rows = conn.execute(select(write_log.c.idempotency_key, write_log.c.state,
                                   write_log.c.error)).all()
    return {row.idempotency_key: (row.state, row.error) for row in rows}


def timeline_write(deal: int, text: str) -> Write:
    key = idempotency_key(WriteKind.TIMELINE, f"D_{deal}", text)
    return Write(WriteKind.TIMELINE, key, item=CrmRef(DEAL, deal),
                 fields=(("text", text),))


def test_a_write_is_sent_once_and_marked_done(installed, write_back, deal, on_portal):
    write = item_status_write(CrmRef(DEAL, deal), CrmTaskStatus.VIEWED, cause="task:1:viewed")

    outcome = write_back.send([write], {})

    assert outcome.sent == [write.key] and outcome.requests == 1
    assert outcome.echoes == {f"deal:{deal}": 1}
    assert on_portal.status("deal", deal) == "VIEWED"
    assert logged(installed) == {write.key: ("done", None)}


def test_a_write_logged_as_done_is_not_sent_again(installed, write_back, deal):
    write = item_status_write(CrmRef(DEAL, deal), CrmTaskStatus.VIEWED, cause="task:1:viewed")
    write_back.send([write], {})
    calls = installed.rest_calls

    again = write_back.send([write], {})

    assert (again.sent, again.skipped, again.requests) == ([], [write.key], 0)
    assert installed.rest_calls == calls
    assert again.summary() == [{"key": write.key, "state": "already written"}]


def test_only_the_writes_not_done_yet_are_sent(installed, write_back, deal, on_portal):
    first = item_status_write(CrmRef(DEAL, deal), CrmTaskStatus.VIEWED, cause="task:1:viewed")
    write_back.send([first], {})
    entry = timeline_write(deal, "«Prepare the contract»: In progress")

    outcome = write_back.send([first, entry], {})

    assert (outcome.sent, outcome.skipped) == ([entry.key], [first.key])
    assert any("In progress" in text for text in on_portal.new_entries("deal", deal))


def test_a_write_the_portal_refuses_is_marked_failed_and_tried_again(installed,
                                                                    write_back, deal):
    missing = item_status_write(CrmRef(DEAL, 999_999), CrmTaskStatus.VIEWED, cause="gone")
    fine = item_status_write(CrmRef(DEAL, deal), CrmTaskStatus.VIEWED, cause="here")

    outcome = write_back.send([missing, fine], {})

    assert outcome.sent == [fine.key]
    assert list(outcome.failed) == [missing.key]
    state, error = logged(installed)[missing.key]
    assert state == "failed" and error and "not found" in error.lower()
    assert logged(installed)[fine.key] == ("done", None)

    retried = write_back.send([missing, fine], {})
    assert list(retried.failed) == [missing.key] and retried.skipped == [fine.key]
    assert retried.requests == 1


def test_a_lost_answer_is_marked_unknown_and_sent_again_if_it_did_not_run(
    installed, write_back, deal, on_portal
):
    entry = timeline_write(deal, "«Prepare the contract»: Completed")
    installed.portal.set_faults(error_500_rate=1.0, methods=["batch"])

    with pytest.raises(OutcomeUnknown):
        write_back.send([entry], {})
    assert logged(installed)[entry.key][0] == "unknown"

    installed.portal.set_faults()
    outcome = write_back.send([entry], {})
    assert outcome.sent == [entry.key]
    assert len([t for t in on_portal.new_entries("deal", deal) if "Completed" in t]) == 1


def test_a_lost_answer_that_did_run_is_found_on_the_timeline_and_not_repeated(
    installed, write_back, deal, on_portal
):
    entry = timeline_write(deal, "«Prepare the contract»: Completed")
    write_back.send([entry], {})
    with installed.storage.engine.begin() as conn:  # as if the answer never came back
        conn.execute(update(write_log).values(state="unknown"))

    outcome = write_back.send([entry], {})

    assert (outcome.sent, outcome.skipped) == ([], [entry.key])
    assert logged(installed)[entry.key][0] == "done"
    assert len([t for t in on_portal.new_entries("deal", deal) if "Completed" in t]) == 1


def status_entry(deal: int) -> Write:
    """A status change's timeline entry, as `plan_writes` makes it (it names the status)."""
    key = idempotency_key(WriteKind.TIMELINE, f"D_{deal}", "11", "IN_PROGRESS", "c1")
    return Write(WriteKind.TIMELINE, key, item=CrmRef(DEAL, deal), task_id=11,
                 fields=(("title", "Contract"), ("status", "IN_PROGRESS"),
                         ("label", "In progress"), ("reason", "started"),
                         ("text", "«Contract»: In progress (started)")))


def test_a_status_change_goes_to_the_timeline_as_the_apps_log_message(
    installed, write_back, deal, on_portal
):
    entry = status_entry(deal)

    write_back.send([entry], {})

    [message] = on_portal.call("crm.timeline.logmessage.list",
                               {"entityTypeId": DEAL, "entityId": deal}
                               )["result"]["logMessages"]
    assert message["title"] == "TaskBridge"
    assert message["text"].startswith("«Contract»: In progress (started) [")
    assert on_portal.call("crm.timeline.comment.list", {
        "filter": {"ENTITY_TYPE": "deal", "ENTITY_ID": deal}})["result"] == []


def test_a_lost_log_message_that_did_run_is_found_and_not_repeated(
    installed, write_back, deal, on_portal
):
    entry = status_entry(deal)
    write_back.send([entry], {})
    with installed.storage.engine.begin() as conn:
        conn.execute(update(write_log).values(state="unknown"))

    outcome = write_back.send([entry], {})

    assert (outcome.sent, outcome.skipped) == ([], [entry.key])
    assert len(on_portal.new_entries("deal", deal)) == 1


def card_write(deal: int, status: CrmTaskStatus, activity_id: int | None = None) -> Write:
    task = CardTask(11, "Contract", status, True, 1)
    write = plan_card(CrmRef(DEAL, deal), [task], status, item_closed=False,
                      shown=CardShown(activity_id, None if activity_id is None else "x"))
    assert write is not None
    return write


def test_the_first_card_adds_the_activity_and_gives_its_id(installed, write_back, deal,
                                                           on_portal):
    outcome = write_back.send([card_write(deal, CrmTaskStatus.IN_PROGRESS)], {})

    [activity] = installed.portal.configurable_activities("deal", deal)
    assert outcome.card_ids == {CrmRef(DEAL, deal): activity["id"]}
    assert on_portal.badge("deal", deal) == "IN_PROGRESS"

    write_back.send([card_write(deal, CrmTaskStatus.WAITING, activity["id"])], {})
    assert len(installed.portal.configurable_activities("deal", deal)) == 1
    assert on_portal.badge("deal", deal) == "WAITING"


def test_a_card_added_whose_answer_was_lost_is_found_by_its_origin(installed, write_back,
                                                                   deal):
    write = card_write(deal, CrmTaskStatus.IN_PROGRESS)
    write_back.send([write], {})
    with installed.storage.engine.begin() as conn:  # as if the answer never came back
        conn.execute(update(write_log).values(state="unknown"))

    outcome = write_back.send([write], {})

    [activity] = installed.portal.configurable_activities("deal", deal)
    assert (outcome.sent, outcome.skipped) == ([], [write.key])
    assert outcome.card_ids == {CrmRef(DEAL, deal): activity["id"]}


def test_a_later_card_finds_the_activity_an_earlier_lost_add_made(installed, write_back, deal,
                                                                  on_portal):
    first = card_write(deal, CrmTaskStatus.IN_PROGRESS)
    write_back.send([first], {})
    with installed.storage.engine.begin() as conn:  # its answer never came back
        conn.execute(update(write_log).values(state="unknown"))
    # The next pass knows no activity id and plans another add, under another key.
    later = card_write(deal, CrmTaskStatus.WAITING)

    outcome = write_back.send([later], {})

    [activity] = installed.portal.configurable_activities("deal", deal)
    assert outcome.sent == [later.key]
    assert outcome.card_ids == {CrmRef(DEAL, deal): activity["id"]}
    assert on_portal.badge("deal", deal) == "WAITING"
    assert logged(installed)[first.key][0] == "done"


def test_an_earlier_lost_add_that_never_ran_is_settled_and_the_card_added(
    installed, write_back, deal, on_portal
):
    first = card_write(deal, CrmTaskStatus.IN_PROGRESS)
    installed.portal.set_faults(error_500_rate=1.0, methods=["batch"])
    with pytest.raises(OutcomeUnknown):
        write_back.send([first], {})
    installed.portal.set_faults()

    later = card_write(deal, CrmTaskStatus.WAITING)
    write_back.send([later], {})

    assert len(installed.portal.configurable_activities("deal", deal)) == 1
    assert on_portal.badge("deal", deal) == "WAITING"
    assert logged(installed)[first.key][0] == "failed"

"""`EventIntake` on its own: an event is verified against the stored application token,
then journaled with its secrets redacted; a repeat while the first still waits is its
duplicate; ONAPPUNINSTALL ends the portal's events (and with CLEAN=1 its data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.errors import InvalidApplicationToken, PortalUninstalled
from connector.storage.access import AdminSessionStore
from connector.storage.journal import Journal
from connector.storage.journal_rows import DUPLICATE, IGNORED, PENDING
from connector.storage.portals import UNINSTALLED, Installation
from connector.sync.intake import EventIntake
from mappers.portal_events import REDACTED, EventError

MEMBER_ID = "intake-member"
TOKEN = "application-token-of-the-portal"


def event(name: str = "ONTASKUPDATE", data: Any = None, **auth: str) -> dict[str, Any]:
    """A portal event body as the receiver parses it; `auth` overrides its sender."""
    if data is None:
        data = {"FIELDS_BEFORE": {"ID": "7"}, "FIELDS_AFTER": {"ID": "7"}}
    sender = {"member_id": MEMBER_ID, "application_token": TOKEN,
              "domain": "intake.example.com", "user_id": "5", **auth}
    return {"event": name, "data": data, "ts": "1466439714", "auth": sender}


@pytest.fixture
def portal_row(storage):
    """The installed portal the events name, with its application token stored."""
    row = storage.portals.save(Installation(
        member_id=MEMBER_ID, domain="intake.example.com",
        client_endpoint="https://intake.example.com/rest/", application_token=TOKEN))
    storage.portals.mark_installed(MEMBER_ID)
    return row


@pytest.fixture
def intake(storage, portal_row, make_settings) -> EventIntake:
    return EventIntake(storage, make_settings())


def test_a_verified_event_is_journaled_pending_with_its_secrets_redacted(storage, intake,
                                                                        portal_row):
    accepted = intake.accept(event(), correlation_id="req-1")

    assert accepted.event.object_key == "task:7"
    assert accepted.recorded.state == PENDING
    [row] = Journal(storage.engine).rows()
    assert (row["id"], row["portal_id"], row["state"]) == (
        accepted.recorded.id, portal_row.id, PENDING)
    assert (row["event"], row["object_key"], row["source"], row["correlation_id"]) == (
        "ONTASKUPDATE", "task:7", "online", "req-1")
    assert row["payload"]["auth"]["application_token"] == REDACTED
    assert TOKEN not in repr(row)


def test_an_event_the_portal_does_not_send_is_kept_but_ignored(storage, intake):
    assert intake.accept(event("ONUSERADD", {"ID": "3"})).recorded.state == IGNORED
    assert Journal(storage.engine).count(state=PENDING) == 0


@pytest.mark.parametrize(("sender", "reason"), [
    ({"application_token": "forged"}, "application token mismatch"),
    ({"application_token": ""}, "application token mismatch"),
    ({"member_id": "never-installed"}, "unknown member_id"),
])
def test_an_unverified_event_is_refused_and_not_journaled(storage, intake, sender, reason):
    with pytest.raises(InvalidApplicationToken, match=reason):
        intake.accept(event(**sender))
    assert Journal(storage.engine).count() == 0


def test_a_malformed_body_is_refused_before_anything_is_read(storage, intake):
    with pytest.raises(EventError, match="auth"):
        intake.accept({"event": "ONTASKUPDATE", "data": {}})
    assert Journal(storage.engine).count() == 0


def test_a_repeat_while_the_first_waits_is_its_duplicate(storage, intake):
    first = intake.accept(event())
    again = intake.accept(event())
    other_user = intake.accept(event(user_id="6"))  # another person's change: its own row

    assert again.recorded.state == DUPLICATE
    assert again.recorded.duplicate_of == first.recorded.id
    assert other_user.recorded.state == PENDING
    assert Journal(storage.engine).count(state=PENDING) == 2


def test_a_repeat_after_the_worker_took_the_first_is_queued_again(storage, intake):
    journal = Journal(storage.engine)
    first = intake.accept(event())
    [claimed] = journal.claim_batch("worker-1", now=datetime.now(UTC) + timedelta(minutes=1))
    assert claimed.id == first.recorded.id

    assert intake.accept(event()).recorded.state == PENDING


def test_events_wait_the_coalescing_window_before_they_are_due(storage, portal_row,
                                                               make_settings):
    intake = EventIntake(storage, make_settings(worker_coalesce_seconds=30))
    accepted = intake.accept(event())
    [row] = Journal(storage.engine).rows()
    assert row["next_attempt_at"] - row["received_at"] == timedelta(seconds=30)
    assert Journal(storage.engine).claim_batch("worker-1") == []
    assert accepted.recorded.state == PENDING


def test_uninstalling_keeps_the_data_ends_sessions_and_refuses_later_events(
    storage, intake, portal_row
):
    sessions = AdminSessionStore(storage.engine)
    session = sessions.start("portal_admin", lifetime=timedelta(hours=1),
                             portal_id=portal_row.id)

    intake.accept(event("ONAPPUNINSTALL", {"CLEAN": "0"}))

    assert storage.portals.get(MEMBER_ID).state == UNINSTALLED
    assert sessions.find_valid(session) is None
    with pytest.raises(PortalUninstalled):
        intake.accept(event())
    assert [row["event"] for row in Journal(storage.engine).rows()] == ["ONAPPUNINSTALL"]


def test_uninstalling_with_clean_deletes_the_portal(storage, intake):
    intake.accept(event("ONAPPUNINSTALL", {"CLEAN": "1"}))

    assert storage.portals.find(MEMBER_ID) is None
    with pytest.raises(InvalidApplicationToken, match="unknown member_id"):
        intake.accept(event())


def test_an_uninstall_must_carry_the_stored_token_too(storage, intake):
    with pytest.raises(InvalidApplicationToken):
        intake.accept(event("ONAPPUNINSTALL", {"CLEAN": "1"}, application_token="forged"))
    assert storage.portals.get(MEMBER_ID).state != UNINSTALLED


def test_a_reinstall_with_a_new_token_is_seen_at_once_and_the_old_token_refused(
    storage, intake
):
    intake.accept(event())  # the portal is now cached with the first token
    storage.portals.save(Installation(
        member_id=MEMBER_ID, domain="intake.example.com",
        client_endpoint="https://intake.example.com/rest/", application_token="second-token"))

    assert intake.accept(event(application_token="second-token",
                               user_id="8")).recorded.state == PENDING
    with pytest.raises(InvalidApplicationToken, match="mismatch"):
        intake.accept(event())

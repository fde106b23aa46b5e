"""Admin sessions kept on the server, and the throttle where only failures count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connector.storage.access import AdminSessionStore, FailureThrottle
from connector.storage.portals import Installation

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_session_is_found_until_it_expires(any_storage: Any) -> None:
    store = AdminSessionStore(any_storage.engine)
    sid = store.start("staff", lifetime=HOUR, token_fingerprint="f" * 64, now=NOW)
    found = store.find_valid(sid, now=NOW + HOUR - timedelta(seconds=1))
    assert found is not None and found.kind == "staff" and found.token_fingerprint == "f" * 64
    assert store.find_valid(sid, now=NOW + HOUR) is None
    assert store.find_valid("no-such-session", now=NOW) is None


def test_a_revoked_session_is_not_found(any_storage: Any) -> None:
    store = AdminSessionStore(any_storage.engine)
    sid = store.start("staff", lifetime=HOUR, now=NOW)
    assert store.revoke(sid, now=NOW) is True
    assert store.find_valid(sid, now=NOW) is None
    assert store.revoke(sid, now=NOW) is False


def test_a_portal_session_carries_its_portals_domain_and_ends_with_the_portal(
        any_storage: Any) -> None:
    portal_row = any_storage.portals.save(Installation(
        member_id="m1", domain="acme.bitrix24.com", client_endpoint="https://acme/rest/"))
    store = AdminSessionStore(any_storage.engine)
    first = store.start("portal", lifetime=HOUR, portal_id=portal_row.id, now=NOW)
    second = store.start("portal", lifetime=HOUR, portal_id=portal_row.id, now=NOW)
    found = store.find_valid(first, now=NOW)
    assert found is not None and found.portal_domain == "acme.bitrix24.com"
    assert store.revoke_portal(portal_row.id, now=NOW) == 2
    assert store.find_valid(second, now=NOW) is None


def test_expired_sessions_are_purged(any_storage: Any) -> None:
    store = AdminSessionStore(any_storage.engine)
    old = store.start("staff", lifetime=HOUR, now=NOW)
    live = store.start("staff", lifetime=3 * HOUR, now=NOW)
    assert store.purge_expired(now=NOW + 2 * HOUR) == 1
    assert store.find_valid(old, now=NOW) is None  # gone, not merely expired
    assert store.find_valid(live, now=NOW + 2 * HOUR) is not None


def test_only_failures_fill_the_window_and_it_ends(any_storage: Any) -> None:
    throttle = FailureThrottle(any_storage.engine, "admin_token", limit=3, window=60)
    assert throttle.retry_after("10.0.0.1", now=NOW) == 0
    assert [throttle.failed("10.0.0.1", now=NOW) for _ in range(3)] == [0, 0, 0]
    assert throttle.retry_after("10.0.0.1", now=NOW + timedelta(seconds=15)) == 45
    assert throttle.retry_after("10.0.0.2", now=NOW) == 0  # another address
    assert throttle.retry_after("10.0.0.1", now=NOW + timedelta(seconds=60)) == 0
    assert throttle.failed("10.0.0.1", now=NOW + timedelta(seconds=60)) == 0  # a new window

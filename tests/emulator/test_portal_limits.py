"""The leaky bucket and the per-method operating-time budget."""

from __future__ import annotations

import threading


def test_bucket_fills_then_drains(rest, portal):
    portal.set_limits(enabled=True, capacity=50, drain_rate=0.0)
    statuses = [rest.raw("user.current").status_code for _ in range(60)]
    assert statuses[:50] == [200] * 50 and set(statuses[50:]) == {503}
    refused = rest.raw("user.current")
    assert refused.json()["error"] == "QUERY_LIMIT_EXCEEDED"
    portal.set_limits(drain_rate=1000.0)  # a fast drain instead of a long sleep
    pause = threading.Event()
    for _ in range(200):
        if rest.raw("user.current").status_code == 200:
            break
        pause.wait(0.01)
    assert rest.raw("user.current").status_code == 200


def test_full_bucket_drains_at_the_default_two_per_second(rest, portal):
    portal.set_limits(enabled=True)  # the portal's defaults: 50 deep, 2 per second
    assert (portal.limit_settings.capacity, portal.limit_settings.drain_rate) == (50, 2.0)
    statuses = []
    while 503 not in statuses and len(statuses) < 80:
        statuses.append(rest.raw("user.current").status_code)
    assert statuses.count(200) >= 50 and statuses[-1] == 503
    refused = rest.raw("user.current")
    assert (refused.status_code, refused.json()["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    threading.Event().wait(0.6)  # 1.2 requests' worth drains out of the bucket
    assert rest.raw("user.current").status_code == 200


def test_drain_rate_recovers_without_resetting(rest, portal):
    portal.set_limits(enabled=True, capacity=5, drain_rate=200.0)
    results = [rest.raw("user.current").status_code for _ in range(5)]
    assert results == [200] * 5
    pause = threading.Event()
    while portal.bucket.level > 1:
        pause.wait(0.005)
    assert rest.raw("user.current").status_code == 200


def test_operating_time_limit(rest, portal):
    portal.set_limits(enabled=True, capacity=1000, operating_budget=2.0, operating_cost=1.0)
    assert rest.raw("crm.deal.list").status_code == 200
    assert rest.raw("crm.deal.list").status_code == 200
    blocked = rest.raw("crm.deal.list")
    assert (blocked.status_code, blocked.json()["error"]) == (429, "OPERATION_TIME_LIMIT")
    assert blocked.json()["time"]["operating_reset_at"] > 0
    assert rest.raw("user.current").status_code == 200  # the budget is per method
    portal.advance_time(601)
    assert rest.raw("crm.deal.list").status_code == 200


def test_limits_off(rest, portal):
    portal.set_limits(enabled=False, capacity=1, drain_rate=0.0)
    assert {rest.raw("user.current").status_code for _ in range(5)} == {200}

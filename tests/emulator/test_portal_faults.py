"""Fault injection: 500/503 shares, dropped connections, delays, a moved portal."""

from __future__ import annotations

import time

import pytest
import requests


def test_every_call_answers_500(rest, portal):
    portal.set_faults(error_500_rate=1.0)
    assert rest.raw("user.current").status_code == 500


def test_share_of_503(rest, portal):
    portal.set_faults(error_503_rate=0.5, seed=7)
    statuses = [rest.raw("user.current").status_code for _ in range(40)]
    assert set(statuses) == {200, 503}


def test_faults_for_chosen_methods_only(rest, portal):
    portal.set_faults(error_503_rate=1.0, methods=["crm.deal.list"])
    assert rest.raw("crm.deal.list").status_code == 503
    assert rest.raw("user.current").status_code == 200


def test_delay_holds_every_call_then_answers(rest, portal):
    portal.set_faults(delay=0.3)
    started = time.monotonic()
    response = rest.raw("user.current")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["result"]["ID"] == "1"
    portal.set_faults(delay=0.0)
    started = time.monotonic()
    assert rest.raw("user.current").status_code == 200
    assert time.monotonic() - started < 0.3


def test_dropped_connection(server, portal):
    portal.set_faults(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/rest/1/testhook/user.current", timeout=5)


def test_domain_change_answers_302(server, portal):
    portal.set_faults(moved_to="http://localhost:1")
    response = requests.post(f"{server.url}/rest/1/testhook/user.current?x=1",
                             allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost:1/rest/1/testhook/user.current?x=1"


def test_reset_clears_faults(rest, portal):
    portal.set_faults(error_500_rate=1.0)
    portal.reset()
    assert rest.raw("user.current").status_code in (200, 401)

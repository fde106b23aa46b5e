"""The chaos suite's cases, short: every event answered 200 is applied, once, and every
task and deal ends where the oracle says, whatever fails on the way."""

from __future__ import annotations

import dataclasses

import pytest

from bench.chaos import CASES, CaseResult, run_case, scaled

SCALE = 0.04  # 200 user actions per case


def _assert_healthy(result: CaseResult) -> None:
    measures = result.measures
    assert measures.lost == 0, measures
    assert measures.duplicate_writes == 0, measures
    assert result.oracle_mismatches == []
    # A re-delivery of an event still waiting (same object, second and user) is kept as
    # a duplicate of it, and the original's run covers both.
    assert measures.processed + measures.duplicates >= measures.answered_200 > 0


def test_a_worker_killed_at_random_moments_loses_and_repeats_nothing() -> None:
    result = run_case(CASES["crash"], changes=200, kills=3)
    _assert_healthy(result)
    assert result.extra["kills"] == 3


@pytest.mark.slow  # 30-50 s: retries back off 5 s and more
def test_portal_errors_timeouts_and_dropped_connections_lose_and_repeat_nothing() -> None:
    # More calls held past the timeout, so a short run meets some.
    case = dataclasses.replace(CASES["faults"], slow_rate=0.08)
    result = run_case(case, changes=200)
    _assert_healthy(result)
    assert sum(result.extra["faults_injected"].values()) > 0


@pytest.mark.slow  # 30-50 s: retries back off 5 s and more
def test_two_workers_with_expiring_tokens_lose_and_repeat_nothing() -> None:
    result = run_case(scaled(CASES["tokens"], SCALE), changes=200)
    _assert_healthy(result)
    assert result.extra["token_expiries"] >= 1
    assert result.extra["worker_exit_codes"] == [0, 0]


@pytest.mark.slow  # 30-50 s: retries back off 5 s and more
def test_lost_deliveries_are_healed_by_the_offline_catch_up_and_reconcile() -> None:
    result = run_case(CASES["lost"], changes=200)
    _assert_healthy(result)
    assert result.extra["deliveries_lost"] > 0
    assert result.measures.journaled_offline > 0


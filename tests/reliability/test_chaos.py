"""The chaos suite's cases, short: every event answered 200 is applied, once, and every
task and deal ends where the oracle says, whatever fails on the way.

The workers run as deployed, scheduler included; the suite never puts a row back or
runs a job itself, so each case also proves the system recovers on its own."""

from __future__ import annotations

import dataclasses

import pytest

from bench.chaos import CASES, CaseResult, run_case, scaled

SCALE = 0.04  # 200 user actions per case
# Five tries' backoff (5 + 10 + 20 + 40 + 80 s) and the passes between them.
RETRIES_SETTLE = 300.0


def _assert_healthy(result: CaseResult) -> None:
    measures = result.measures
    assert measures.answered_not_journaled == 0, measures
    assert measures.lost == 0, measures
    assert measures.queued_unfinished == 0, measures
    assert measures.duplicate_writes == 0, measures
    assert result.oracle_mismatches == []
    # A re-delivery of an event still waiting (same object, second and user) is kept as
    # a duplicate of it, and the original's run covers both.
    assert measures.processed + measures.duplicates >= measures.answered_200 > 0


@pytest.mark.slow  # 30-60 s: a killed worker's rows wait for the stale sweep
def test_a_worker_killed_at_random_moments_loses_and_repeats_nothing() -> None:
    result = run_case(CASES["crash"], changes=200, kills=3)
    _assert_healthy(result)
    assert result.extra["kills"] == 3
    # At least one kill left rows behind, which only the workers' stale sweep took back.
    assert result.extra["rows_left_processing_by_kills"] > 0


@pytest.mark.slow  # 70-110 s: retries back off 5 s and more
def test_portal_errors_timeouts_and_dropped_connections_lose_and_repeat_nothing() -> None:
    # More calls held past the timeout, so a short run meets some.
    case = dataclasses.replace(CASES["faults"], slow_rate=0.08)
    # A pass whose write batch fails fails all its rows, and rows back off 5, 10, 20, 40,
    # 80 s: settling must outlast five failed tries in a row, not only the usual two.
    result = run_case(case, changes=200, settle_timeout=RETRIES_SETTLE)
    _assert_healthy(result)
    assert sum(result.extra["faults_injected"].values()) > 0


@pytest.mark.slow  # 20-50 s: retries back off 5 s and more
def test_two_workers_with_expiring_tokens_lose_and_repeat_nothing() -> None:
    result = run_case(scaled(CASES["tokens"], SCALE), changes=200)
    _assert_healthy(result)
    assert result.extra["token_expiries"] >= 1
    assert result.extra["worker_exit_codes"] == [0, 0]
    assert result.measures.writes_sent_twice == 0


@pytest.mark.slow  # 30-50 s: the catch-up runs every 10 s, reconcile every 30 s
def test_lost_deliveries_are_healed_by_the_workers_scheduler() -> None:
    result = run_case(CASES["lost"], changes=200)
    _assert_healthy(result)
    assert result.extra["deliveries_lost"] > 0
    assert result.measures.journaled_offline > 0
    assert result.measures.writes_sent_twice == 0

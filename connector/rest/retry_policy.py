"""When the REST client repeats a call, and how long it waits first.

`should_retry` is pure: reads retry on anything transient; a write retries only when the
portal provably did not run it (a 503 limit answer, a connection that never opened) and
otherwise surfaces as `OutcomeUnknown`. Callers that know a write is idempotent pass
`is_write=False`. Jitter is a separate function so tests can pin it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, stop_after_delay

from connector.rest.errors import QueryLimitExceeded, ServerError, TransportError

log = logging.getLogger("connector.rest")
T = TypeVar("T")
Jitter = Callable[[float], float]


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    reason: str


def should_retry(
    error: BaseException, attempt: int, is_write: bool, *, max_attempts: int = 5
) -> RetryDecision:
    """Whether attempt number `attempt` (1-based) that failed with `error` gets another go."""
    if attempt >= max_attempts:
        return RetryDecision(False, f"gave up after {attempt} attempts")
    if isinstance(error, QueryLimitExceeded):
        return RetryDecision(True, "portal request limit (503): the call did not run")
    if isinstance(error, TransportError):
        if not error.maybe_delivered:
            return RetryDecision(True, "connection failed before the request was sent")
        if is_write:
            return RetryDecision(False, "write may have run: outcome unknown")
        return RetryDecision(True, f"read failed in transit: {error.description}")
    if isinstance(error, ServerError):
        if is_write:
            return RetryDecision(False, "write answered 5xx: outcome unknown")
        return RetryDecision(True, f"portal error {error.http_status}")
    return RetryDecision(False, "not a transient error")


def backoff(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    """Exponential delay before attempt `attempt + 1`, without jitter."""
    return min(cap, base * 2 ** (attempt - 1))


def equal_jitter(delay: float, rng: random.Random | None = None) -> float:
    """Somewhere between half the delay and the whole of it."""
    roll = (rng or random).random()
    return delay / 2 + roll * delay / 2


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded in attempts and seconds; `jitter` and `sleep` are injectable for tests."""

    max_attempts: int = 5
    max_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: Jitter = field(default=equal_jitter)
    sleep: Callable[[float], None] = field(default=time.sleep)

    def run(self, attempt: Callable[[], T], *, is_write: bool, label: str) -> T:
        """Call `attempt` until it succeeds or `should_retry` says stop; raise the last error."""

        def retry(state: RetryCallState) -> bool:
            assert state.outcome is not None
            error = state.outcome.exception()
            if error is None:
                return False
            decision = should_retry(
                error, state.attempt_number, is_write, max_attempts=self.max_attempts
            )
            state.retry_object.statistics["reason"] = decision.reason
            return decision.retry

        def wait(state: RetryCallState) -> float:
            return self.jitter(backoff(state.attempt_number, self.base_delay, self.max_delay))

        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None and state.next_action is not None
            log.warning(
                "retrying %s in %.2fs after attempt %d: %s (%s)",
                label, state.next_action.sleep, state.attempt_number,
                state.retry_object.statistics.get("reason", ""),
                type(state.outcome.exception()).__name__,
            )

        retrying = Retrying(
            retry=retry,
            wait=wait,
            stop=stop_after_delay(self.max_seconds),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)

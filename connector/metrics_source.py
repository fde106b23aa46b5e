"""What `/metrics` reports, read from the database so every web worker agrees.

Counters are counts of rows (the journal, `rest_calls`, `scheduler_runs`), so they only
grow while rows are kept. Token refreshes: each rotation bumps `portals.token_version`
(a re-install does too), so `token_version - 1` per portal counts them; the time of the
last one is `token_refreshed_at`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, case, func, select

from connector.journal import FAILED, PENDING, PROCESSING
from connector.schema import journal, portals, rest_calls, scheduler_runs

LATENCY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
QUEUED = (PENDING, FAILED, PROCESSING)


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Family:
    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append(Sample(self.name + suffix, labels, value))


def collect(engine: Engine, now: datetime | None = None) -> list[Family]:
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        return [
            _events(conn), *_queue(conn, now), _latency(conn), *_rest(conn),
            *_tokens(conn), _scheduler(conn),
        ]


def render(families: list[Family]) -> str:
    """Prometheus text exposition format 0.0.4."""
    return "".join(_lines(families))


def _lines(families: list[Family]) -> Iterator[str]:
    for family in families:
        yield f"# HELP {family.name} {family.help}\n# TYPE {family.name} {family.kind}\n"
        for sample in family.samples:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sample.labels.items())
            yield f"{sample.name}{{{labels}}} {_number(sample.value)}\n" if labels else \
                f"{sample.name} {_number(sample.value)}\n"


def _events(conn) -> Family:  # type: ignore[no-untyped-def]
    family = Family("taskbridge_events_total", "counter",
                    "Events journaled, by event type and state (outcome).")
    rows = conn.execute(
        select(journal.c.event, journal.c.state, func.count())
        .group_by(journal.c.event, journal.c.state)
    )
    for event, state, count in rows:
        family.add(count, event=event, state=state)
    return family


def _queue(conn, now: datetime) -> list[Family]:  # type: ignore[no-untyped-def]
    depth = Family("taskbridge_journal_depth", "gauge",
                   "Journal rows waiting or running, by state.")
    for state in QUEUED:
        count = conn.execute(
            select(func.count()).select_from(journal).where(journal.c.state == state)
        ).scalar_one()
        depth.add(count, state=state)
    oldest = conn.execute(
        select(func.min(journal.c.received_at)).where(journal.c.state.in_(QUEUED))
    ).scalar()
    age = Family("taskbridge_journal_oldest_age_seconds", "gauge",
                 "Age of the oldest row waiting or running (0 when none).")
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age.add(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return [depth, age]


def _latency(conn) -> Family:  # type: ignore[no-untyped-def]
    """received_at → finished_at of done rows, in Python-free SQL buckets."""
    family = Family("taskbridge_processing_latency_seconds", "histogram",
                    "Time from receiving an event to finishing it (done rows).")
    seconds = _seconds_between(conn, journal.c.received_at, journal.c.finished_at)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
        .where(journal.c.state == "done", journal.c.finished_at.is_not(None))
    ).one()
    count, total, buckets = row[0], row[1], row[2:]
    for bound, value in zip(LATENCY_BUCKETS, buckets, strict=True):
        family.add(value or 0, "_bucket", le=_number(bound))
    family.add(count, "_bucket", le="+Inf")
    family.add(float(total or 0.0), "_sum")
    family.add(count, "_count")
    return family


def _seconds_between(conn, start, end):  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _rest(conn) -> list[Family]:  # type: ignore[no-untyped-def]
    calls = Family("taskbridge_rest_requests_total", "counter",
                   "REST calls made, by method and result (ok or the error code).")
    result = func.coalesce(rest_calls.c.error_code, "ok")
    for method, outcome, count in conn.execute(
        select(rest_calls.c.method, result, func.count()).group_by(rest_calls.c.method, result)
    ):
        calls.add(count, method=method, result=outcome)
    limited = Family("taskbridge_rest_limited_total", "counter",
                     "REST calls that ended on HTTP 503 (query limit) or 429 (operating time).")
    for status in (503, 429):
        count = conn.execute(
            select(func.count()).select_from(rest_calls).where(rest_calls.c.http_status == status)
        ).scalar_one()
        limited.add(count, http_status=str(status))
    retries = Family("taskbridge_rest_retries_total", "counter", "Retries of REST calls.")
    retries.add(conn.execute(select(func.coalesce(func.sum(rest_calls.c.retries), 0)))
                .scalar_one())
    return [calls, limited, retries]


def _tokens(conn) -> list[Family]:  # type: ignore[no-untyped-def]
    refreshes = Family("taskbridge_token_refreshes_total", "counter",
                       "Token pairs stored after the first, per portal (token_version - 1).")
    last = Family("taskbridge_token_refreshed_timestamp_seconds", "gauge",
                  "When each portal's tokens were last stored (Unix time).")
    states = Family("taskbridge_portals", "gauge", "Portals by state.")
    by_state: dict[str, int] = {}
    for member_id, version, refreshed, state in conn.execute(
        select(portals.c.member_id, portals.c.token_version, portals.c.token_refreshed_at,
               portals.c.state)
    ):
        refreshes.add(max(0, (version or 0) - 1), member_id=member_id)
        if refreshed is not None:
            stamp = refreshed if refreshed.tzinfo else refreshed.replace(tzinfo=UTC)
            last.add(stamp.timestamp(), member_id=member_id)
        by_state[state] = by_state.get(state, 0) + 1
    for state, count in sorted(by_state.items()):
        states.add(count, state=state)
    return [refreshes, last, states]


def _scheduler(conn) -> Family:  # type: ignore[no-untyped-def]
    family = Family("taskbridge_scheduler_runs_total", "counter",
                    "Scheduler job runs, by job and outcome.")
    outcome = func.coalesce(scheduler_runs.c.outcome, "running")
    for job, result, count in conn.execute(
        select(scheduler_runs.c.job, outcome, func.count())
        .group_by(scheduler_runs.c.job, outcome)
    ):
        family.add(count, job=job, outcome=result)
    return family


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value) if isinstance(value, float) else str(int(value))


def record_scheduler_run(
    engine: Engine, job: str, *, started_at: datetime, finished_at: datetime | None,
    outcome: str, detail: dict | None = None,
) -> int:
    """One scheduler job run (the worker calls this after each run; `outcome` ok/error)."""
    with engine.begin() as conn:
        return conn.execute(
            scheduler_runs.insert().values(
                job=job[:64], started_at=started_at, finished_at=finished_at,
                outcome=outcome[:32], detail=detail,
            ).returning(scheduler_runs.c.id)
        ).scalar_one()

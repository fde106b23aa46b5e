"""What `/metrics` reports, read from the database so every web worker agrees.

Counters come from `metric_counters` (see `connector.storage.counters`): bumped by the
transactions that change what they count, so they only grow, retention or not. Gauges
come from indexed lookups: a scrape costs the same at a thousand journal rows or a
million (no query here reads the journal, `rest_calls` or `scheduler_runs` in full).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from connector.storage import counters as metrics
from connector.storage.counters import LATENCY_BUCKETS, StoredMetrics, number, read_metrics
from connector.storage.engines import Engine
from connector.storage.journal_rows import FAILED, PENDING, PROCESSING

QUEUED = (PENDING, FAILED, PROCESSING)


@dataclass
class Sample:
    name: str
    labels: str  # label text, as printed between the braces
    value: float


@dataclass
class Family:
    name: str
    kind: str  # counter, gauge, histogram
    help: str
    samples: list[Sample] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> None:
        self.samples.append(Sample(self.name + suffix, metrics.labels(**labels), value))


# The stored counters, in the order they are printed.
COUNTERS = (
    (metrics.EVENTS_RECEIVED, "Events journaled, by event type and the state they were "
                              "journaled in (pending, duplicate, ignored)."),
    (metrics.EVENTS_REFUSED, "Events refused at /bitrix/events, by reason (unknown_portal, "
                             "token_mismatch, uninstalled); flushed every few seconds."),
    (metrics.EVENTS_FINISHED, "Processing tries that ended, by event type and outcome (done, "
                              "ignored, failed, dead); a replayed event counts again."),
    (metrics.REST_REQUESTS, "REST calls made, by method and result (ok or the error code)."),
    (metrics.REST_LIMITED, "HTTP 503 (query limit) and 429 (operating time) answers, "
                           "retried ones included."),
    (metrics.REST_RETRIES, "Retries of REST calls."),
    (metrics.TOKEN_REFRESHES, "OAuth token pairs rotated, per portal."),
    (metrics.SCHEDULER_RUNS, "Scheduler job runs, by job and outcome."),
)


def collect(engine: Engine, now: datetime | None = None) -> list[Family]:
    now = now or datetime.now(UTC)
    read = read_metrics(engine, QUEUED)
    stored: dict[str, list[Sample]] = {}
    for name, label_text, value in read.counters:
        stored.setdefault(name, []).append(Sample(name, label_text, value))
    families = [Family(name, "counter", text, stored.get(name, []))
                for name, text in COUNTERS]
    by_name = {family.name: family for family in families}
    _zero_fill(by_name[metrics.REST_LIMITED], "http_status", ("503", "429"))
    if not by_name[metrics.REST_RETRIES].samples:
        by_name[metrics.REST_RETRIES].add(0)
    portal_families = _portals(read, by_name[metrics.TOKEN_REFRESHES])
    return [*families, _latency(stored), *_queue(read, now), *portal_families]


def render(families: list[Family]) -> str:
    """Prometheus text exposition format 0.0.4, written by prometheus_client."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collected(families))
    return generate_latest(registry).decode()


class _Collected(Collector):
    """Families already read from the database, handed to prometheus_client to write."""

    def __init__(self, families: list[Family]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        for family in self._families:
            # prometheus_client names a counter family without its `_total`.
            name = (family.name.removesuffix("_total") if family.kind == "counter"
                    else family.name)
            metric = Metric(name, family.help, family.kind)
            for sample in family.samples:
                metric.add_sample(sample.name, parse_labels(sample.labels), sample.value)
            yield metric


_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_labels(text: str) -> dict[str, str]:
    """The labels of a stored series' label text (`a="x",b="y"`, as `labels` writes it)."""
    return {key: re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], value)
            for key, value in _LABEL.findall(text)}


def _zero_fill(family: Family, label: str, values: tuple[str, ...]) -> None:
    present = {sample.labels for sample in family.samples}
    for value in values:
        if metrics.labels(**{label: value}) not in present:
            family.add(0, **{label: value})
    family.samples.sort(key=lambda sample: sample.labels)


def _latency(stored: dict[str, list[Sample]]) -> Family:
    family = Family(metrics.LATENCY, "histogram",
                    "Time from receiving an event to finishing it done (seconds).")
    buckets = {sample.labels: sample.value
               for sample in stored.get(metrics.LATENCY + "_bucket", [])}
    for bound in (*(number(bound) for bound in LATENCY_BUCKETS), "+Inf"):
        family.add(buckets.get(metrics.labels(le=bound), 0), "_bucket", le=bound)
    for suffix in ("_sum", "_count"):
        family.add(sum(sample.value for sample in stored.get(metrics.LATENCY + suffix, [])),
                   suffix)
    return family


def _queue(read: StoredMetrics, now: datetime) -> list[Family]:
    """Depth by state and the oldest row's age, each from the (state, id) index."""
    depth = Family("taskbridge_journal_depth", "gauge",
                   "Journal rows waiting or running, by state.")
    for state, count in read.queue:
        depth.add(count, state=state)
    age = Family("taskbridge_journal_oldest_age_seconds", "gauge",
                 "Age of the oldest row waiting or running (0 when none).")
    received = read.oldest_received
    age.add(max(0.0, (now - received).total_seconds()) if received else 0.0)
    return [depth, age]


def _portals(read: StoredMetrics, refreshes: Family) -> list[Family]:
    """Per-portal series read from `portals` (one row per portal, as many as the series)."""
    last = Family("taskbridge_token_refreshed_timestamp_seconds", "gauge",
                  "When each portal's tokens were last stored (Unix time).")
    states = Family("taskbridge_portals", "gauge", "Portals by state.")
    by_state: dict[str, int] = {}
    counted = {sample.labels for sample in refreshes.samples}
    for member_id, refreshed, state in read.portals:
        if metrics.labels(member_id=member_id) not in counted:
            refreshes.add(0, member_id=member_id)
        if refreshed is not None:
            last.add(refreshed.timestamp(), member_id=member_id)
        by_state[state] = by_state.get(state, 0) + 1
    refreshes.samples.sort(key=lambda sample: sample.labels)
    for state, count in sorted(by_state.items()):
        states.add(count, state=state)
    return [last, states]

"""`/metrics` text: the stored series written by prometheus_client, labels read back exactly."""

from __future__ import annotations

import pytest

from connector.observability.metrics import Family, parse_labels, render
from connector.storage.counters import labels


@pytest.mark.parametrize("value", ["ONTASKADD", 'a "quoted" name', "two\nlines", "back\\slash",
                                   "", "ünïcode"])
def test_a_label_value_survives_the_stored_label_text(value: str) -> None:
    assert parse_labels(labels(event=value, state="pending")) == {"event": value,
                                                                  "state": "pending"}


def test_counters_keep_their_total_name_and_gauges_their_own() -> None:
    received = Family("taskbridge_events_received_total", "counter", "Events journaled.")
    received.add(3, event="ONTASKADD", state="pending")
    depth = Family("taskbridge_journal_depth", "gauge", "Rows waiting.")
    depth.add(0, state="failed")
    text = render([received, depth])
    assert "# TYPE taskbridge_events_received_total counter\n" in text
    assert 'taskbridge_events_received_total{event="ONTASKADD",state="pending"} 3.0\n' in text
    assert "# TYPE taskbridge_journal_depth gauge\n" in text
    assert 'taskbridge_journal_depth{state="failed"} 0.0\n' in text


def test_a_hostile_label_value_cannot_start_a_series_of_its_own() -> None:
    family = Family("taskbridge_token_refreshes_total", "counter", "Refreshes.")
    family.add(1, member_id='x"} 1\ntaskbridge_forged_total 99')
    lines = render([family]).splitlines()
    assert not any(line.startswith("taskbridge_forged_total") for line in lines)

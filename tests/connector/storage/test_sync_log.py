"""The sync log's read side: every filter, keyset paging, scrubbing, entries, exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from connector.observability.sync_log_export import csv_lines, json_array
from connector.redaction import redact
from connector.storage.engines import Storage
from connector.storage.portals import Installation
from connector.storage.schema import journal, task_snapshots
from connector.storage.sync_log import FilterError, LogFilter, SyncLog, parse_item

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def two_portals(storage: Storage) -> None:
    """Every log here belongs to one of two stored portals, m-one (id 1) and m-two (id 2)."""
    for member in ("m-one", "m-two"):
        storage.portals.save(Installation(member_id=member, domain=f"{member}.example",
                                          client_endpoint=f"https://{member}.example/rest/"))


def add_rows(storage: Storage, rows: list[dict[str, Any]]) -> None:
    with storage.engine.begin() as conn:
        conn.execute(insert(journal), [row_values(**row) for row in rows])


def row_values(*, portal_id: int = 1, event: str = "ONTASKUPDATE", key: str = "task:1",
               state: str = "done", at: datetime = T0, **extra: Any) -> dict[str, Any]:
    kind, _, number = key.partition(":")
    values = dict(portal_id=portal_id, member_id="m-one" if portal_id == 1 else "m-two",
                  received_at=at, source="online", event=event, object_type=kind,
                  object_id=number, object_key=key, payload={"event": event},
                  dedupe_key=f"{key}:{at.isoformat()}", state=state, attempts=0,
                  finished_at=None, error=None, detail=None, correlation_id=None)
    values.update(extra)
    return values


def ids(storage: Storage, where: LogFilter) -> list[int]:
    return [row.id for row in SyncLog(storage.engine).iterate(where)]


@pytest.fixture
def seeded(storage: Storage) -> Storage:
    add_rows(storage, [
        {"key": "deal:12", "event": "ONCRMDEALUPDATE"},                           # 1
        {"key": "task:5", "state": "dead", "error": "tasks.task.get: boom"},      # 2
        {"key": "task:6", "portal_id": 2, "at": T0 + timedelta(hours=1)},          # 3
        {"key": "lead:7", "event": "ONCRMLEADUPDATE", "state": "failed",
         "at": T0 + timedelta(hours=2)},                                           # 4
        {"key": "task:9", "at": T0 + timedelta(hours=3),
         "payload": {"auth": {"access_token": "leaked-at", "domain": "x"}}},       # 5
    ])
    with storage.engine.begin() as conn:
        conn.execute(insert(task_snapshots).values(
            portal_id=1, task_id=5, snapshot={}, bindings=["D_12", "C_3"], updated_at=T0))
    return storage


@pytest.mark.parametrize(("where", "expected"), [
    (LogFilter(), [5, 4, 3, 2, 1]),
    (LogFilter(portal_id=2), [3]),
    (LogFilter(item="deal:12"), [2, 1]),  # the deal's own events and its bound task's
    (LogFilter(task=5), [2]),
    (LogFilter(event="ONCRMLEADUPDATE"), [4]),
    (LogFilter(state="dead"), [2]),
    (LogFilter(since=T0 + timedelta(minutes=30)), [5, 4, 3]),
    (LogFilter(until=T0 + timedelta(minutes=90)), [3, 2, 1]),
    (LogFilter(since=T0 + timedelta(minutes=30), until=T0 + timedelta(minutes=150)), [4, 3]),
    (LogFilter(text="boom"), [2]),
    (LogFilter(text="100%_"), []),
    (LogFilter(portal_id=1, state="done"), [5, 1]),
], ids=repr)
def test_each_filter_selects_its_rows(seeded: Storage, where: LogFilter,
                                      expected: list[int]) -> None:
    assert ids(seeded, where) == expected


def test_keyset_pages_walk_every_row_once_newest_first(storage: Storage) -> None:
    add_rows(storage, [{"key": f"task:{n}"} for n in range(1, 124)])
    log = SyncLog(storage.engine)
    seen, before, pages = [], None, 0
    while True:
        page = log.page(LogFilter(), before=before, limit=50)
        seen.extend(row.id for row in page.rows)
        pages += 1
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == list(range(123, 0, -1))
    assert pages == 3


def test_free_text_searches_a_window_and_says_where_it_stopped(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connector.storage.sync_log.TEXT_WINDOW", 10)
    add_rows(storage, [{"key": f"task:{n}", "error": "needle" if n in (3, 25) else None}
                       for n in range(1, 31)])
    log = SyncLog(storage.engine)
    first = log.page(LogFilter(text="needle"))
    assert [r.id for r in first.rows] == [25]
    assert first.searched_to == 21 and first.next_before == 21
    assert ids(storage, LogFilter(text="needle")) == [25, 3]


def test_entries_and_payloads_come_without_secrets(seeded: Storage) -> None:
    entry = SyncLog(seeded.engine).entry(5)
    assert entry is not None
    assert entry.payload["auth"] == {"access_token": "[redacted]", "domain": "x"}
    assert SyncLog(seeded.engine).entry(5, portal_id=2) is None


def test_redaction_keeps_structure_and_hides_secret_values() -> None:
    data = {"auth": {"refresh_token": "r", "member_id": "m"}, "list": [{"client_secret": "s"}]}
    assert redact(data) == {"auth": {"refresh_token": "[redacted]", "member_id": "m"},
                            "list": [{"client_secret": "[redacted]"}]}



def test_an_error_is_shown_without_the_credentials_it_quotes(storage: Storage) -> None:
    add_rows(storage, [{"state": "dead", "error": "POST https://p.example/rest/1/abc123def/"
                        "tasks.task.get refused access_token=xyz"}])
    (row,) = SyncLog(storage.engine).page(LogFilter()).rows
    assert row.error == ("POST https://p.example/rest/1/[redacted]/tasks.task.get refused "
                         "access_token=[redacted]")

@pytest.mark.parametrize(("text", "key"), [
    ("D_12", "deal:12"), ("deal:12", "deal:12"), ("L_5", "lead:5"), ("lead 5", "lead:5"),
])
def test_items_are_read_in_every_common_spelling(text: str, key: str) -> None:
    assert parse_item(text) == key


@pytest.mark.parametrize("text", ["12", "X_3", "deal:", "task:4"])
def test_other_item_spellings_are_refused(text: str) -> None:
    with pytest.raises(FilterError, match="is not a CRM item"):
        parse_item(text)


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(FilterError, match="outcome: 'lost'"):
        LogFilter(state="lost")


def test_exports_hold_the_filtered_rows(seeded: Storage) -> None:
    rows = list(SyncLog(seeded.engine).iterate(LogFilter(item="deal:12")))
    table = list(csv.DictReader(io.StringIO("".join(csv_lines(rows)))))
    assert [r["id"] for r in table] == ["2", "1"]
    assert table[0]["error"] == "tasks.task.get: boom"
    assert [r["id"] for r in json.loads("".join(json_array(rows)))] == [2, 1]

"""How fast is the sync log list at 1,000,000 journal rows on SQLite?

Fills a fresh SQLite file with bulk inserts (several portals, events, states, times),
then times the list query and the full page render (Flask test client, the real
templates) for the newest page, a deep keyset page, and each filter. Goal: every list
page under 200 ms. `--json` prints the figures as the last line, with "ok".
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

GOAL_MS = 200.0
EVENTS = ("ONTASKUPDATE", "ONTASKADD", "ONCRMDEALUPDATE", "ONCRMLEADUPDATE", "ONTASKCOMMENTADD")
STATES = ("done",) * 90 + ("failed",) * 3 + ("dead",) * 2 + ("pending",) * 3 + ("ignored",) * 2


def fill(path: Path, rows: int, portals: int) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA journal_mode=WAL")
    rng = random.Random(7)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    batch = []
    for n in range(1, rows + 1):
        event = rng.choice(EVENTS)
        kind = "deal" if "DEAL" in event else "lead" if "LEAD" in event else "task"
        obj = rng.randrange(1, 50_000)
        state = rng.choice(STATES)
        at = (t0 + timedelta(seconds=n * 3)).isoformat(sep=" ")
        batch.append((rng.randrange(1, portals + 1), f"member{rng.randrange(portals)}", at,
                      "online", event, kind, str(obj), f"{kind}:{obj}",
                      json.dumps({"event": event, "data": {"FIELDS": {"ID": str(obj)}}}),
                      f"k{n}", state, 1, at if state == "done" else None,
                      "tasks.task.get: QUERY_LIMIT_EXCEEDED" if state in ("failed", "dead")
                      else None, json.dumps({"outcome": "written"}), None))
        if len(batch) == 20_000:
            _insert(conn, batch)
            batch = []
    if batch:
        _insert(conn, batch)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def _insert(conn: sqlite3.Connection, batch: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO journal (portal_id, member_id, received_at, source, event, object_type,"
        " object_id, object_key, payload, dedupe_key, state, attempts, finished_at, error,"
        " detail, correlation_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)


def seed_counters(engine) -> int:  # type: ignore[no-untyped-def]
    """As many counter series as a busy deployment keeps (the fill bypasses the journal's
    verbs, so it bumps none): every event by state and outcome, the latency histogram,
    REST methods by result, refreshes per portal. Returns how many series."""
    from connector.storage import counters as m

    counts = {}
    for event in (*EVENTS, "ONCRMDEALADD", "ONTASKDELETE", "ONAPPUPDATE"):
        for state in ("pending", "duplicate", "ignored"):
            counts[(m.EVENTS_RECEIVED, m.labels(event=event, state=state))] = 1000
        for outcome in ("done", "ignored", "failed", "dead"):
            counts[(m.EVENTS_FINISHED, m.labels(event=event, outcome=outcome))] = 1000
    counts.update(m.latency([0.3, 2.0, 40.0] * 100))
    for n in range(40):
        for result in ("ok", "QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "ERROR_CORE"):
            counts[(m.REST_REQUESTS, m.labels(method=f"method.{n}", result=result))] = 10
    for n in range(20):
        counts[(m.TOKEN_REFRESHES, m.labels(member_id=f"member{n}"))] = 24
    with engine.begin() as conn:
        m.bump(conn, counts)
    return len(counts)


def timed(fn, repeat: int = 7) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm the page cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--portals", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from connector.settings import load_settings
    from connector.storage.engines import open_storage
    from connector.storage.portals import Installation
    from connector.storage.sync_log import LogFilter, SyncLog
    from connector.storage.token_cipher import new_key
    from webhooks.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="tb-bench-synclog-"))
    path = folder / "bench.sqlite3"
    settings = load_settings(database_url=f"sqlite:///{path}", secret_key=new_key(),
                             admin_token="bench-admin-token")
    storage = open_storage(settings)
    for n in range(args.portals):
        storage.portals.save(Installation(member_id=f"member{n}", domain=f"p{n}.example",
                                          client_endpoint=f"https://p{n}.example/rest/"))
    fill_seconds = fill(path, args.rows, args.portals)
    log = SyncLog(storage.engine)
    deep = log.page(LogFilter(), before=args.rows // 2).next_before
    t_mid = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=args.rows * 3 // 2)
    t_end = t_mid + timedelta(hours=2)
    cases = {
        "newest": ("", LogFilter(), None),
        "deep_keyset_page": (f"before={deep}", LogFilter(), deep),
        "portal": ("portal=3", LogFilter(portal_id=3), None),
        "item": ("item=D_4242", LogFilter(item="deal:4242"), None),
        "task": ("task=777", LogFilter(task=777), None),
        "event": ("event=ONCRMLEADUPDATE", LogFilter(event="ONCRMLEADUPDATE"), None),
        "outcome_dead": ("outcome=dead", LogFilter(state="dead"), None),
        "time_range": (f"since={t_mid:%Y-%m-%dT%H:%M}&until={t_end:%Y-%m-%dT%H:%M}",
                       LogFilter(since=t_mid, until=t_end), None),
        "portal_dead_item": ("portal=3&outcome=dead&item=L_100",
                             LogFilter(portal_id=3, state="dead", item="lead:100"), None),
        "free_text": ("q=QUERY_LIMIT", LogFilter(text="QUERY_LIMIT"), None),
        "free_text_no_match": ("q=nothing-like-this", LogFilter(text="nothing-like-this"), None),
    }
    client = create_app(settings, storage).test_client()
    headers = {"Authorization": "Bearer bench-admin-token"}
    results = {}
    for name, (query, where, before) in cases.items():
        query_ms = timed(lambda w=where, b=before: log.page(w, before=b))
        url = f"/admin/?{query}"

        def render(u: str = url) -> None:
            answer = client.get(u, headers=headers)
            assert answer.status_code == 200, (u, answer.status_code)

        results[name] = {"query_ms": round(query_ms, 2), "page_ms": round(timed(render), 2)}
    # Baseline in the same run: a bare primary-key LIMIT 50 on the same table.
    raw = sqlite3.connect(path)
    baseline = timed(lambda: raw.execute(
        "SELECT id FROM journal ORDER BY id DESC LIMIT 50").fetchall())
    raw.close()
    from connector.observability import metrics as metrics_source

    series = seed_counters(storage.engine)
    metrics_ms = timed(lambda: metrics_source.render(metrics_source.collect(storage.engine)))

    def scrape() -> None:
        answer = client.get("/metrics")
        assert answer.status_code == 200, answer.status_code

    metrics_http_ms = timed(scrape)
    worst = max(r["page_ms"] for r in results.values())
    summary = {"rows": args.rows, "fill_seconds": round(fill_seconds, 1),
               "baseline_pk_limit50_ms": round(baseline, 3), "cases": results,
               "metrics_scrape_ms": round(metrics_ms, 1),
               "metrics_http_ms": round(metrics_http_ms, 1), "metrics_counter_series": series,
               "worst_page_ms": worst, "goal_ms": GOAL_MS, "ok": worst < GOAL_MS}
    print(f"{'case':<20} {'query ms':>9} {'page ms':>9}")
    for name, r in results.items():
        print(f"{name:<20} {r['query_ms']:>9} {r['page_ms']:>9}")
    print(f"{'/metrics collect':<20} {metrics_ms:>9.2f} {metrics_http_ms:>9.2f}"
          f"   ({series} counter series; not part of the page goal)")
    print(f"fill {fill_seconds:.1f}s for {args.rows} rows; worst page {worst} ms "
          f"(goal < {GOAL_MS} ms)")
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The sync log, read side: the journal filtered and paged, one entry in full, exports,
and what the per-item page reads (`connector.observability.item_timeline` shapes it).

Paging is keyset by id, newest first (`before=<id>`), so a page costs the same at row
1,000,000 as at row 50 and no page counts the whole table. Each filter has an index that
starts with its column and ends with `id` (migration 0003). A time range becomes an id
range first (ids and `received_at` are both assigned at insert, so they grow together),
and free text scans at most `TEXT_WINDOW` ids per page, saying where it stopped.
Everything that leaves this module has its secrets removed (`connector.redaction`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, and_, cast, delete, func, or_, select
from sqlalchemy.sql import Select

from connector.errors import StorageError
from connector.redaction import redact, scrub_text
from connector.storage.counters import last_reconcile_run_query
from connector.storage.portals import INSTALLED
from connector.storage.schema import (
    crm_item_statuses,
    journal,
    portals,
    rest_calls,
    scheduler_runs,
    task_snapshots,
    write_log,
)

PAGE_SIZE = 50
TEXT_WINDOW = 50_000
TIME_SLACK = timedelta(minutes=1)
STATES = ("pending", "processing", "done", "failed", "dead", "duplicate", "ignored")
ITEM_PREFIXES = {"d": "deal", "deal": "deal", "l": "lead", "lead": "lead"}
LIST_COLUMNS = (
    journal.c.id, journal.c.portal_id, journal.c.member_id, journal.c.received_at,
    journal.c.source, journal.c.event, journal.c.object_key, journal.c.state,
    journal.c.attempts, journal.c.finished_at, journal.c.error, journal.c.correlation_id,
    journal.c.detail,
)


class FilterError(StorageError):
    """A sync log filter value TaskBridge cannot read: fix it; the message names it."""


def parse_item(text: str) -> str:
    """`D_12`, `deal:12`, `L_5`, `lead 5` → the journal's object key (`deal:12`)."""
    raw = text.strip().lower().replace("_", ":").replace(" ", ":")
    kind, sep, number = raw.partition(":")
    if not sep or kind not in ITEM_PREFIXES or not number.isdigit():
        raise FilterError(f"item: {text!r} is not a CRM item such as D_12, deal:12 or L_5")
    return f"{ITEM_PREFIXES[kind]}:{int(number)}"


def binding_code(object_key: str) -> str:
    kind, _, number = object_key.partition(":")
    return f"{kind[0].upper()}_{number}"


@dataclass(frozen=True)
class LogFilter:
    """What the list, the export and `taskbridge logs` filter on; all optional."""

    portal_id: int | None = None
    item: str | None = None  # an object key, see parse_item
    task: int | None = None
    event: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise FilterError(f"outcome: {self.state!r} is not one of {', '.join(STATES)}")

    def scoped(self, portal_id: int | None) -> LogFilter:
        """The same filter held to one portal (a portal admin's session)."""
        return self if portal_id is None else replace(self, portal_id=portal_id)


@dataclass(frozen=True)
class LogRow:
    id: int
    portal_id: int | None
    member_id: str
    received_at: datetime
    source: str
    event: str
    object_key: str
    state: str
    attempts: int
    finished_at: datetime | None
    error: str | None
    correlation_id: str | None
    outcome: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "member_id": self.member_id,
            "received_at": _iso(self.received_at), "source": self.source, "event": self.event,
            "object": self.object_key, "state": self.state, "attempts": self.attempts,
            "finished_at": _iso(self.finished_at), "outcome": self.outcome,
            "error": self.error, "correlation_id": self.correlation_id,
        }


@dataclass(frozen=True)
class Page:
    rows: list[LogRow]
    next_before: int | None  # pass as `before` for the next (older) page
    searched_to: int | None = None  # free text: ids below this are not searched yet


@dataclass
class Entry:
    """One journal row in full, for the detail page (secrets removed)."""

    row: LogRow
    payload: dict[str, Any]
    detail: dict[str, Any]
    dedupe_key: str
    next_attempt_at: datetime | None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    writes: list[dict[str, Any]] = field(default_factory=list)


class SyncLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def page(self, where: LogFilter, *, before: int | None = None, after: int | None = None,
             limit: int = PAGE_SIZE) -> Page:
        """One page, newest first; `next_before` is None on the last page. `after` keeps
        only ids above it (`taskbridge logs --follow`)."""
        with self._engine.connect() as conn:
            query, floor = self._query(conn, where, before)
            if after is not None:
                query = query.where(journal.c.id > after)
            rows = [_row(r._mapping) for r in conn.execute(query.limit(limit + 1))]
        if len(rows) > limit:
            return Page(rows[:limit], next_before=rows[limit - 1].id)
        if floor is not None and floor > 1:
            return Page(rows, next_before=floor, searched_to=floor)
        return Page(rows, next_before=None)

    def iterate(self, where: LogFilter, *, batch: int = 500, limit: int | None = None,
                after: int | None = None) -> Iterator[LogRow]:
        """Every matching row, newest first, fetched a keyset page at a time (exports)."""
        before, sent = None, 0
        while True:
            page = self.page(where, before=before, after=after, limit=batch)
            for row in page.rows:
                if limit is not None and sent >= limit:
                    return
                sent += 1
                yield row
            if page.next_before is None or (after is not None and page.next_before <= after):
                return
            before = page.next_before

    def entry(self, entry_id: int, *, portal_id: int | None = None) -> Entry | None:
        query = select(journal).where(journal.c.id == entry_id)
        if portal_id is not None:
            query = query.where(journal.c.portal_id == portal_id)
        with self._engine.connect() as conn:
            found = conn.execute(query).first()
        if found is None:
            return None
        data = found._mapping
        detail = redact(dict(data["detail"] or {}))
        return Entry(
            row=_row(data), payload=redact(dict(data["payload"] or {})), detail=detail,
            dedupe_key=data["dedupe_key"], next_attempt_at=data["next_attempt_at"],
            decisions=[d for d in detail.get("decisions") or [] if isinstance(d, Mapping)],
            writes=[w for w in detail.get("writes") or [] if isinstance(w, Mapping)],
        )

    def portal_names(self) -> dict[int, str]:
        with self._engine.connect() as conn:
            return dict(conn.execute(select(portals.c.id, portals.c.domain)).all())

    def task_titles(self, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """The stored title of each (portal id, task id), in one query (the admin pages
        show it beside the task's id)."""
        wanted = set(pairs)
        if not wanted:
            return {}
        title = task_snapshots.c.snapshot["title"].as_string()
        query = select(task_snapshots.c.portal_id, task_snapshots.c.task_id, title).where(
            task_snapshots.c.portal_id.in_(sorted({p for p, _ in wanted})),
            task_snapshots.c.task_id.in_(sorted({t for _, t in wanted})))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return {(p, t): text or "" for p, t, text in rows if (p, t) in wanted}

    def installed_member_ids(self, portal_ids: Iterable[int]) -> dict[int, str]:
        """The member id of each of these portals that is installed now."""
        wanted = sorted(set(portal_ids))
        with self._engine.connect() as conn:
            return dict(conn.execute(select(portals.c.id, portals.c.member_id).where(
                portals.c.id.in_(wanted), portals.c.state == INSTALLED)).all())

    def item_rows(self, portal_id: int, entity_type_id: int, item_id: int, binding: str
                  ) -> tuple[tuple[str | None, bool] | None, list[tuple[Any, ...]]]:
        """A CRM item's stored (status, closed), or None; and the stored tasks whose
        bindings hold `binding` (`D_12`), as (task_id, crm_status, status_changed_at,
        deleted) by task id."""
        with self._engine.connect() as conn:
            current = conn.execute(
                select(crm_item_statuses.c.status, crm_item_statuses.c.closed).where(
                    crm_item_statuses.c.portal_id == portal_id,
                    crm_item_statuses.c.entity_type_id == entity_type_id,
                    crm_item_statuses.c.item_id == item_id,
                )
            ).first()
            tasks = conn.execute(
                select(task_snapshots.c.task_id, task_snapshots.c.crm_status,
                       task_snapshots.c.status_changed_at, task_snapshots.c.deleted)
                .where(task_snapshots.c.portal_id == portal_id,
                       cast(task_snapshots.c.bindings, String).like(f'%"{binding}"%'))
                .order_by(task_snapshots.c.task_id)
            ).all()
        status = None if current is None else (current.status, bool(current.closed))
        return status, [tuple(task) for task in tasks]

    def decided(self, ids: list[int]) -> list[tuple[int, str, datetime | None, Any]]:
        """(id, event, finished_at, detail) of these rows, newest first."""
        if not ids:
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(journal.c.id, journal.c.event, journal.c.finished_at, journal.c.detail)
                .where(journal.c.id.in_(ids)).order_by(journal.c.id.desc())
            ).all()
        return [(row.id, row.event, row.finished_at, row.detail) for row in rows]

    # query building --------------------------------------------------------------
    def _query(self, conn: Any, where: LogFilter, before: int | None) -> tuple[Select, int | None]:
        query = select(*LIST_COLUMNS).order_by(journal.c.id.desc())
        if where.portal_id is not None:
            query = query.where(journal.c.portal_id == where.portal_id)
        keys = self._object_keys(conn, where)
        if keys is not None:
            query = query.where(journal.c.object_key.in_(keys))
        if where.event:
            query = query.where(journal.c.event == where.event.upper())
        if where.state:
            query = query.where(journal.c.state == where.state)
        top, bottom = self._id_bounds(conn, where)
        if before is not None:
            top = before if top is None else min(top, before)
        floor = None
        if where.text:
            needle = f"%{_escape(where.text)}%"
            start = top if top is not None else (_max_id(conn) or 0) + 1
            floor = max(bottom or 1, start - TEXT_WINDOW)
            bottom = floor
            query = query.where(or_(*(
                cast(column, String).like(needle, escape="\\")
                for column in (journal.c.payload, journal.c.error, journal.c.detail,
                               journal.c.object_key, journal.c.correlation_id, journal.c.event)
            )))
        if top is not None:
            query = query.where(journal.c.id < top)
        if bottom is not None:
            query = query.where(journal.c.id >= bottom)
        if where.since is not None:
            query = query.where(journal.c.received_at >= where.since)
        if where.until is not None:
            query = query.where(journal.c.received_at < where.until)
        return query, floor

    def _object_keys(self, conn: Any, where: LogFilter) -> list[str] | None:
        keys: list[str] = []
        if where.task is not None:
            keys.append(f"task:{where.task}")
        if where.item:
            keys.append(where.item)
            code = f'%"{binding_code(where.item)}"%'
            bound = select(task_snapshots.c.task_id).where(
                cast(task_snapshots.c.bindings, String).like(code)
            )
            if where.portal_id is not None:
                bound = bound.where(task_snapshots.c.portal_id == where.portal_id)
            keys.extend(f"task:{task_id}" for task_id in conn.execute(bound.limit(500)).scalars())
        return keys or None

    def _id_bounds(self, conn: Any, where: LogFilter) -> tuple[int | None, int | None]:
        """(exclusive top, inclusive bottom) ids covering the time range, with slack."""
        top = bottom = None
        if where.until is not None:
            first_after = conn.execute(
                select(journal.c.id).where(journal.c.received_at >= where.until + TIME_SLACK)
                .order_by(journal.c.received_at).limit(1)
            ).scalar()
            top = first_after
        if where.since is not None:
            first = conn.execute(
                select(journal.c.id).where(journal.c.received_at >= where.since - TIME_SLACK)
                .order_by(journal.c.received_at).limit(1)
            ).scalar()
            bottom = first if first is not None else (_max_id(conn) or 0) + 1
        return top, bottom



def forget_before(engine: Engine, *, cutoff: datetime, dead_cutoff: datetime,
                  finished: tuple[str, ...], dead: str) -> int:
    """Delete, in one transaction, what the sync log no longer needs: REST calls before
    `cutoff`; journal rows in a `finished` state received before `cutoff`, and `dead` ones
    before `dead_cutoff`; write-log rows left without their journal row and older than
    `cutoff`; scheduler runs before `cutoff` but the reconcile run whose marks the next
    pass reads. Returns the journal rows deleted."""
    with engine.begin() as conn:
        conn.execute(delete(rest_calls).where(rest_calls.c.at < cutoff))
        removed = conn.execute(
            delete(journal).where(or_(
                and_(journal.c.state.in_(finished), journal.c.received_at < cutoff),
                and_(journal.c.state == dead, journal.c.received_at < dead_cutoff),
            ))
        ).rowcount
        # Deleting journal rows set their write-log rows' journal_id to NULL.
        conn.execute(delete(write_log).where(write_log.c.journal_id.is_(None),
                                             write_log.c.created_at < cutoff))
        marks_run = last_reconcile_run_query().with_only_columns(scheduler_runs.c.id)
        conn.execute(delete(scheduler_runs).where(
            scheduler_runs.c.started_at < cutoff,
            scheduler_runs.c.id.not_in(select(marks_run.subquery().c.id)),
        ))
    return removed

def _max_id(conn: Any) -> int | None:
    return conn.execute(select(func.max(journal.c.id))).scalar()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(data: Any) -> LogRow:
    detail = data["detail"] if isinstance(data["detail"], Mapping) else {}
    return LogRow(
        id=data["id"], portal_id=data["portal_id"], member_id=data["member_id"],
        received_at=data["received_at"], source=data["source"], event=data["event"],
        object_key=data["object_key"], state=data["state"], attempts=data["attempts"],
        finished_at=data["finished_at"],
        error=scrub_text(data["error"]) if data["error"] else data["error"],
        correlation_id=data["correlation_id"],
        outcome=str(detail["outcome"]) if detail.get("outcome") else None,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None

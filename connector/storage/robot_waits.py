"""Calls of TaskBridge's automation rules that a workflow waits on until TaskBridge answers.

One row per call (a workflow and its event token, as `call_key`), kept from the first
time the worker takes it up: its event token encrypted like the portal's tokens, the
deal or lead, what the rule asked (`options`), the task "Create a task" made, and the
answer sent to the workflow. States: `open` (taken up, not answered yet), `waiting` (a
"Wait for the item's tasks" hold: it ends when the item's last task is completed),
`answered`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connector.storage.schema import robot_waits
from connector.storage.token_cipher import TokenCipher
from mappers.bindings import CrmRef

OPEN = "open"
WAITING = "waiting"
ANSWERED = "answered"


@dataclass(frozen=True)
class RobotWait:
    """One stored call; the event token decrypted (never in the repr)."""

    id: int
    portal_id: int
    call_key: str
    workflow_id: str
    code: str
    item: CrmRef
    state: str
    options: dict[str, Any]
    task_id: int | None
    answer: dict[str, Any] | None
    journal_id: int | None
    created_at: datetime
    event_token: str = field(default="", repr=False)


class RobotWaitStore:
    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def take_up(self, portal_id: int, *, call_key: str, workflow_id: str, code: str,
                item: CrmRef, event_token: str, options: dict[str, Any],
                journal_id: int | None, now: datetime | None = None) -> RobotWait:
        """The call's row: stored now (state `open`) unless a delivery stored it before."""
        values = {"portal_id": portal_id, "call_key": call_key, "workflow_id": workflow_id,
                  "code": code, "entity_type_id": item.entity_type_id, "item_id": item.id,
                  "state": OPEN, "event_token_enc": self._cipher.encrypt(event_token),
                  "options": options, "journal_id": journal_id,
                  "created_at": now or datetime.now(UTC)}
        with self._engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert(robot_waits).values(**values).on_conflict_do_nothing(
                index_elements=["portal_id", "call_key"]))
            row = conn.execute(select(robot_waits).where(
                robot_waits.c.portal_id == portal_id, robot_waits.c.call_key == call_key)).one()
        return self._wait(row._mapping)

    def task_created(self, wait_id: int, task_id: int) -> None:
        """Remember the task a "Create a task" call made, before anything else is sent."""
        self._set(wait_id, task_id=task_id)

    def hold(self, wait_id: int) -> None:
        """The call waits for the item's tasks: no answer yet."""
        self._set(wait_id, state=WAITING)

    def answered(self, wait_id: int, answer: dict[str, Any], *,
                 now: datetime | None = None) -> None:
        self._set(wait_id, state=ANSWERED, answer=answer, answered_at=now or datetime.now(UTC))

    def waiting_on(self, portal_id: int, items: Iterable[CrmRef]) -> list[RobotWait]:
        """The holds on these deals and leads, oldest first."""
        wanted = set(items)
        if not wanted:
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(select(robot_waits).where(
                robot_waits.c.portal_id == portal_id, robot_waits.c.state == WAITING,
                robot_waits.c.item_id.in_(sorted({ref.id for ref in wanted})),
            ).order_by(robot_waits.c.id)).all()
        found = [self._wait(row._mapping) for row in rows]
        return [wait for wait in found if wait.item in wanted]

    def waiting(self, portal_id: int) -> list[RobotWait]:
        """Every hold of a portal (the reconcile pass looks at each)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(robot_waits).where(
                robot_waits.c.portal_id == portal_id, robot_waits.c.state == WAITING,
            ).order_by(robot_waits.c.id)).all()
        return [self._wait(row._mapping) for row in rows]

    def count(self, portal_id: int, state: str) -> int:
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(robot_waits).where(
                robot_waits.c.portal_id == portal_id, robot_waits.c.state == state)).scalar_one()

    def _set(self, wait_id: int, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(robot_waits).where(robot_waits.c.id == wait_id).values(**values))

    def _wait(self, row: Any) -> RobotWait:
        return RobotWait(
            id=row["id"], portal_id=row["portal_id"], call_key=row["call_key"],
            workflow_id=row["workflow_id"], code=row["code"],
            item=CrmRef(row["entity_type_id"], row["item_id"]), state=row["state"],
            options=dict(row["options"] or {}), task_id=row["task_id"], answer=row["answer"],
            journal_id=row["journal_id"], created_at=row["created_at"],
            event_token=self._cipher.decrypt(row["event_token_enc"]),
        )

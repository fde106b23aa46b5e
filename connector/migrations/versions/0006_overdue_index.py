"""The overdue sweep reads an index instead of every task; retention finds old write-log rows.

`task_snapshots.overdue_after` holds a task's deadline (UTC) while the task can still
become overdue: bound to a CRM item, not deleted, in an open real status (not 4, 5 or 7)
and not EXPIRED already; NULL otherwise. A partial index on it holds just those tasks.
Existing rows are filled from their stored snapshots.

`write_log(journal_id, created_at)` serves the journal's ON DELETE SET NULL (which
otherwise scans the write log for every journal row retention deletes) and retention's
own search for old rows whose journal row is gone.

Revision ID: 0006
Revises: 0005
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NOT_OVERDUE_REAL_STATUSES = (4, 5, 7)  # as the overdue rule stood when this was written
CHUNK = 500

snapshots = sa.table(
    "task_snapshots",
    sa.column("portal_id", sa.Integer),
    sa.column("task_id", sa.BigInteger),
    sa.column("snapshot", sa.JSON),
    sa.column("crm_status", sa.String),
    sa.column("bindings", sa.JSON),
    sa.column("deleted", sa.Boolean),
    sa.column("overdue_after", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.add_column("task_snapshots", sa.Column("overdue_after", sa.DateTime(timezone=True)))
    _fill_overdue_after()
    op.create_index("ix_task_snapshots_overdue", "task_snapshots",
                    ["portal_id", "overdue_after"],
                    postgresql_where=sa.text("overdue_after IS NOT NULL"),
                    sqlite_where=sa.text("overdue_after IS NOT NULL"))
    op.create_index("ix_write_log_journal", "write_log", ["journal_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_write_log_journal", "write_log")
    op.drop_index("ix_task_snapshots_overdue", "task_snapshots")
    with op.batch_alter_table("task_snapshots") as batch:
        batch.drop_column("overdue_after")


def _fill_overdue_after() -> None:
    """Walk the rows in key order, a chunk at a time (snapshots are large)."""
    conn = op.get_bind()
    update = (snapshots.update()
              .where(snapshots.c.portal_id == sa.bindparam("p"),
                     snapshots.c.task_id == sa.bindparam("t"))
              .values(overdue_after=sa.bindparam("at")))
    after = (-1, -1)
    while True:
        rows = conn.execute(
            sa.select(snapshots.c.portal_id, snapshots.c.task_id, snapshots.c.snapshot,
                      snapshots.c.bindings, snapshots.c.crm_status, snapshots.c.deleted)
            .where(sa.tuple_(snapshots.c.portal_id, snapshots.c.task_id) > sa.tuple_(*after))
            .order_by(snapshots.c.portal_id, snapshots.c.task_id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        due = [{"p": row.portal_id, "t": row.task_id, "at": at} for row in rows
               if not row.deleted and row.crm_status != "EXPIRED"
               and (at := _overdue_after(row.snapshot, row.bindings)) is not None]
        if due:
            conn.execute(update, due)
        after = (rows[-1].portal_id, rows[-1].task_id)


def _overdue_after(snapshot: dict | None, bindings: list | None) -> datetime | None:
    snapshot = snapshot or {}
    deadline = snapshot.get("deadline")
    if not bindings or not deadline or snapshot.get("real_status") in NOT_OVERDUE_REAL_STATUSES:
        return None
    moment = datetime.fromisoformat(str(deadline))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)

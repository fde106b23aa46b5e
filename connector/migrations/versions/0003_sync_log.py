"""Sync log: REST calls per journal row, scheduler runs, and the indexes the log pages need.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Each serves one list filter ordered by id (keyset paging walks the index backwards).
JOURNAL_INDEXES = {
    "ix_journal_portal_id": ["portal_id", "id"],
    "ix_journal_event_id": ["event", "id"],
    "ix_journal_state_id": ["state", "id"],
    "ix_journal_key_id": ["object_key", "id"],
    "ix_journal_correlation": ["correlation_id"],
}


def upgrade() -> None:
    op.create_table(
        "rest_calls",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("portal_id", sa.Integer, sa.ForeignKey("portals.id", ondelete="CASCADE")),
        sa.Column("journal_id", BIG, sa.ForeignKey("journal.id", ondelete="SET NULL")),
        sa.Column("at", TZ, nullable=False),
        sa.Column("method", sa.String(128), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_code", sa.String(96)),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("params", sa.JSON),
    )
    op.create_index("ix_rest_calls_journal", "rest_calls", ["journal_id"])
    op.create_index("ix_rest_calls_portal_at", "rest_calls", ["portal_id", "at"])
    op.create_index("ix_rest_calls_method", "rest_calls", ["method", "http_status"])
    op.create_table(
        "scheduler_runs",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("outcome", sa.String(32)),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_scheduler_runs_job", "scheduler_runs", ["job", "started_at"])
    for name, columns in JOURNAL_INDEXES.items():
        op.create_index(name, "journal", columns)


def downgrade() -> None:
    for name in JOURNAL_INDEXES:
        op.drop_index(name, table_name="journal")
    op.drop_table("scheduler_runs")
    op.drop_table("rest_calls")

"""The claim takes live rows before a backfill's: an index in the claim's own order.

A backfill journals one row per chunk of items (`source` "backfill"); the claim orders the
waiting rows by `(source = 'backfill'), id`, so an event a portal sends while hundreds of
chunks wait is claimed first. The partial index holds only waiting rows, in that order, so
the claim reads it from the front on SQLite and PostgreSQL alike.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WAITING = "state IN ('pending', 'failed')"


def upgrade() -> None:
    op.create_index(
        "ix_journal_claim_priority", "journal",
        [sa.text("(CASE WHEN source = 'backfill' THEN 1 ELSE 0 END)"), "id"],
        postgresql_where=sa.text(WAITING), sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_journal_claim_priority", "journal")

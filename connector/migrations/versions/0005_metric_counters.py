"""Monotonic metric counters, kept by the transactions that change what they count.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per series: `labels` is the series' label text as `/metrics` prints it.
    op.create_table(
        "metric_counters",
        sa.Column("name", sa.String(96), primary_key=True),
        sa.Column("labels", sa.String(512), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    # Portals by state, a gauge, read from an index instead of the table.
    op.create_index("ix_portals_state", "portals", ["state"])


def downgrade() -> None:
    op.drop_index("ix_portals_state", "portals")
    op.drop_table("metric_counters")

"""REST client state shared across processes: rate budgets, method pauses, refresh leases.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rest_rate_budgets",
        sa.Column("portal_key", sa.String(255), primary_key=True),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("stamp", sa.Float, nullable=False),
    )
    op.create_table(
        "rest_method_pauses",
        sa.Column("portal_key", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(128), primary_key=True),
        sa.Column("until", sa.Float, nullable=False),
    )
    op.create_table(
        "rest_refresh_leases",
        sa.Column("member_id", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64)),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("rest_refresh_leases", "rest_method_pauses", "rest_rate_budgets"):
        op.drop_table(table)

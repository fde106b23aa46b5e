"""The kanban card: each deal's or lead's configurable activity, whose badge shows its status.

`crm_item_statuses.card_activity_id` is the id `crm.activity.configurable.add` gave the
item's activity (later writes update it); `card_digest` names what the activity was last
written to show, so a pass that would write the same card sends nothing.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_item_statuses") as batch:
        batch.add_column(sa.Column("card_activity_id", sa.BigInteger))
        batch.add_column(sa.Column("card_digest", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("crm_item_statuses") as batch:
        batch.drop_column("card_digest")
        batch.drop_column("card_activity_id")

"""TaskBridge's automation rules: each call a workflow waits on until TaskBridge answers,
and what a portal has registered.

`robot_waits` keeps one row per rule call (one workflow, one event token): the event
token (encrypted like the portal's tokens), the deal or lead, the task "Create a task"
made, and the answer sent. A "Wait for the item's tasks" row stays `waiting` until the
item's last task is completed, across restarts. `portals.robots` records the rule
definitions last registered on the portal (a digest), or why none were.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robot_waits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("portal_id", sa.Integer, sa.ForeignKey("portals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("call_key", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("entity_type_id", sa.Integer, nullable=False),
        sa.Column("item_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("event_token_enc", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("task_id", sa.BigInteger),
        sa.Column("answer", sa.JSON),
        sa.Column("journal_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("portal_id", "call_key", name="uq_robot_waits_call"),
    )
    # The holds on one item, found whenever the item's tasks are observed.
    op.create_index("ix_robot_waits_item", "robot_waits",
                    ["portal_id", "entity_type_id", "item_id", "state"])
    op.add_column("portals", sa.Column("robots", sa.JSON))


def downgrade() -> None:
    op.drop_column("portals", "robots")
    op.drop_index("ix_robot_waits_item", "robot_waits")
    op.drop_table("robot_waits")

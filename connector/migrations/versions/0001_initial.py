"""Portals, journal, task snapshots, CRM item statuses and the write log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "portals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.String(64), nullable=False, unique=True),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("client_endpoint", sa.String(512), nullable=False),
        sa.Column("server_endpoint", sa.String(512), nullable=False),
        sa.Column("auth_mode", sa.String(16), nullable=False),
        sa.Column("webhook_url_enc", sa.Text),
        sa.Column("scope", sa.String(512), nullable=False),
        sa.Column("access_token_enc", sa.Text),
        sa.Column("refresh_token_enc", sa.Text),
        sa.Column("token_expires_at", TZ),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("token_refreshed_at", TZ),
        sa.Column("application_token_hash", sa.String(128)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("state_reason", sa.Text),
        sa.Column("rate_drain", sa.Float, nullable=False),
        sa.Column("rate_burst", sa.Integer, nullable=False),
        sa.Column("installed_at", TZ),
        sa.Column("updated_at", TZ),
        sa.Column("uninstalled_at", TZ),
        sa.Column("last_event_at", TZ),
    )
    op.create_table(
        "journal",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column("portal_id", sa.Integer, sa.ForeignKey("portals.id", ondelete="CASCADE")),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(96), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("locked_by", sa.String(64)),
        sa.Column("locked_at", TZ),
        sa.Column("finished_at", TZ),
        sa.Column("error", sa.Text),
        sa.Column("detail", sa.JSON),
        sa.Column("correlation_id", sa.String(64)),
    )
    op.create_index("ix_journal_claim", "journal", ["state", "next_attempt_at", "id"])
    op.create_index("ix_journal_object", "journal", ["portal_id", "object_key", "id"])
    op.create_index("ix_journal_dedupe", "journal", ["portal_id", "dedupe_key", "received_at"])
    op.create_index("ix_journal_received", "journal", ["received_at"])
    op.create_table(
        "task_snapshots",
        sa.Column(
            "portal_id",
            sa.Integer,
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("task_id", BIG, primary_key=True, autoincrement=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("crm_status", sa.String(32)),
        sa.Column("status_changed_at", TZ),
        sa.Column("bindings", sa.JSON, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "crm_item_statuses",
        sa.Column(
            "portal_id",
            sa.Integer,
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("entity_type_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("item_id", BIG, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(32)),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("held_final_stage", sa.String(64)),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "write_log",
        sa.Column("id", BIG, primary_key=True, autoincrement=True),
        sa.Column(
            "portal_id",
            sa.Integer,
            sa.ForeignKey("portals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("journal_id", BIG, sa.ForeignKey("journal.id", ondelete="SET NULL")),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("method", sa.String(96), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("portal_id", "idempotency_key", name="uq_write_log_key"),
    )


def downgrade() -> None:
    for table in ("write_log", "crm_item_statuses", "task_snapshots", "journal", "portals"):
        op.drop_table(table)

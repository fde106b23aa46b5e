"""Server-side state the security model needs: staff and portal-admin sessions that can be
revoked, single-use form tokens, and per-key attempt counters for unauthenticated callers.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A session cookie names a row here; signing out or changing the admin token ends it.
    op.create_table(
        "admin_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("portal_id", sa.Integer, sa.ForeignKey("portals.id", ondelete="CASCADE")),
        sa.Column("token_fingerprint", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_admin_sessions_expires", "admin_sessions", ["expires_at"])
    # A form token is spent by inserting its id: a second use finds it here.
    op.create_table(
        "used_form_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("portal_id", sa.Integer, sa.ForeignKey("portals.id", ondelete="CASCADE")),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_used_form_tokens_used_at", "used_form_tokens", ["used_at"])
    # Fixed-window attempt counters: (scope, key) such as ("placement_auth", member_id).
    op.create_table(
        "auth_throttle",
        sa.Column("scope", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("auth_throttle")
    op.drop_index("ix_used_form_tokens_used_at", "used_form_tokens")
    op.drop_table("used_form_tokens")
    op.drop_index("ix_admin_sessions_expires", "admin_sessions")
    op.drop_table("admin_sessions")

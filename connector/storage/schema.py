"""The tables TaskBridge stores (SQLAlchemy Core). Migrations in `connector/migrations/`
create them; this module is what the code queries with. Change both together, and
only through a new migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always reads back aware. SQLite keeps no offset, so
    its values (TaskBridge writes UTC) come back naive and get UTC attached; PostgreSQL's
    come back aware already. The DDL type is the plain one: no migration."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# BigInteger ids stay INTEGER on SQLite so they autoincrement there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

portals = Table(
    "portals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(64), nullable=False, unique=True),
    Column("domain", String(255), nullable=False),
    Column("client_endpoint", String(512), nullable=False),
    Column("server_endpoint", String(512), nullable=False, default=""),
    Column("auth_mode", String(16), nullable=False, default="app"),
    Column("webhook_url_enc", Text),
    Column("scope", String(512), nullable=False, default=""),
    Column("access_token_enc", Text),
    Column("refresh_token_enc", Text),
    Column("token_expires_at", UTCDateTime()),
    Column("token_version", Integer, nullable=False, default=0),
    Column("token_refreshed_at", UTCDateTime()),
    Column("application_token_hash", String(128)),
    Column("language", String(8), nullable=False, default="en"),
    Column("settings", JSON, nullable=False, default=dict),
    Column("state", String(32), nullable=False, default="installing"),
    Column("state_reason", Text),
    Column("rate_drain", Float, nullable=False, default=2.0),
    Column("rate_burst", Integer, nullable=False, default=50),
    Column("installed_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
    Column("uninstalled_at", UTCDateTime()),
    Column("last_event_at", UTCDateTime()),
    # The automation rules last registered on the portal (migration 0009): their digest,
    # or why none were (`connector.portals.robots`).
    Column("robots", JSON),
)

journal = Table(
    "journal",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE")),
    Column("member_id", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("source", String(16), nullable=False, default="online"),
    Column("event", String(64), nullable=False),
    Column("object_type", String(16), nullable=False, default=""),
    Column("object_id", String(64), nullable=False, default=""),
    Column("object_key", String(96), nullable=False, default=""),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(128), nullable=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime()),
    Column("locked_by", String(64)),
    Column("locked_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("error", Text),
    Column("detail", JSON),
    Column("correlation_id", String(64)),
    Index("ix_journal_claim", "state", "next_attempt_at", "id"),
    Index("ix_journal_object", "portal_id", "object_key", "id"),
    Index("ix_journal_dedupe", "portal_id", "dedupe_key", "received_at"),
    Index("ix_journal_received", "received_at"),
)

task_snapshots = Table(
    "task_snapshots",
    metadata,
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", BigId, primary_key=True, autoincrement=False),
    Column("snapshot", JSON, nullable=False),
    Column("crm_status", String(32)),
    Column("status_changed_at", UTCDateTime()),
    Column("bindings", JSON, nullable=False, default=list),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The deadline (UTC) while the task can still become overdue (migration 0006).
    Column("overdue_after", UTCDateTime()),
    Index("ix_task_snapshots_overdue", "portal_id", "overdue_after",
          postgresql_where=text("overdue_after IS NOT NULL"),
          sqlite_where=text("overdue_after IS NOT NULL")),
)

crm_item_statuses = Table(
    "crm_item_statuses",
    metadata,
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True),
    Column("entity_type_id", Integer, primary_key=True, autoincrement=False),
    Column("item_id", BigId, primary_key=True, autoincrement=False),
    Column("status", String(32)),
    Column("closed", Boolean, nullable=False, default=False),
    Column("held_final_stage", String(64)),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The item's configurable activity (its badge is the status on the kanban card), and
    # the digest of what it was last written to show.
    Column("card_activity_id", BigId),
    Column("card_digest", String(32)),
)

write_log = Table(
    "write_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE"), nullable=False),
    Column("journal_id", BigId, ForeignKey("journal.id", ondelete="SET NULL")),
    Column("idempotency_key", String(128), nullable=False),
    Column("method", String(96), nullable=False),
    Column("params", JSON, nullable=False),
    Column("state", String(16), nullable=False, default="planned"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Column("result", JSON),
    Column("error", Text),
    UniqueConstraint("portal_id", "idempotency_key", name="uq_write_log_key"),
    Index("ix_write_log_journal", "journal_id", "created_at"),
)

# REST client state shared by every process that calls a portal (migration 0002).
# Times are epoch seconds (float): they feed arithmetic, not display.
rest_rate_budgets = Table(
    "rest_rate_budgets",
    metadata,
    Column("portal_key", String(255), primary_key=True),
    Column("level", Float, nullable=False, default=0.0),
    Column("stamp", Float, nullable=False, default=0.0),
)

rest_method_pauses = Table(
    "rest_method_pauses",
    metadata,
    Column("portal_key", String(255), primary_key=True),
    Column("method", String(128), primary_key=True),
    Column("until", Float, nullable=False),
)

rest_refresh_leases = Table(
    "rest_refresh_leases",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("holder", String(64)),
    Column("expires_at", Float, nullable=False, default=0.0),
)

# The sync log (migration 0003): every REST call a journal row caused, scheduler runs,
# and the indexes the log pages use (declared here so tests that create_all match).
rest_calls = Table(
    "rest_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE")),
    Column("journal_id", BigId, ForeignKey("journal.id", ondelete="SET NULL")),
    Column("at", UTCDateTime(), nullable=False),
    Column("method", String(128), nullable=False),
    Column("duration_ms", Integer, nullable=False, default=0),
    Column("http_status", Integer),
    Column("error_code", String(96)),
    Column("retries", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=1),
    Column("params", JSON),
    Index("ix_rest_calls_journal", "journal_id"),
    Index("ix_rest_calls_portal_at", "portal_id", "at"),
    Index("ix_rest_calls_method", "method", "http_status"),
)

scheduler_runs = Table(
    "scheduler_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("outcome", String(32)),
    Column("detail", JSON),
    Index("ix_scheduler_runs_job", "job", "started_at"),
)

Index("ix_journal_portal_id", journal.c.portal_id, journal.c.id)
Index("ix_journal_event_id", journal.c.event, journal.c.id)
Index("ix_journal_state_id", journal.c.state, journal.c.id)
Index("ix_journal_key_id", journal.c.object_key, journal.c.id)
Index("ix_journal_correlation", journal.c.correlation_id)
# The claim's order, live rows before a backfill's (migration 0008): waiting rows only.
CLAIM_PRIORITY = "(CASE WHEN source = 'backfill' THEN 1 ELSE 0 END)"
Index("ix_journal_claim_priority", text(CLAIM_PRIORITY), journal.c.id,
      postgresql_where=text("state IN ('pending', 'failed')"),
      sqlite_where=text("state IN ('pending', 'failed')"))

# Tokens of users who opened TaskBridge in their portal (migration 0004): with them the
# worker asks the portal whether the responsible has seen a task (the unviewed marker
# answers for the calling user only).
user_tokens = Table(
    "user_tokens",
    metadata,
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("access_token_enc", Text, nullable=False),
    Column("refresh_token_enc", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Monotonic metric counters (migration 0005): one row per series, bumped by the
# transactions that change what they count; `labels` is the series' label text.
metric_counters = Table(
    "metric_counters",
    metadata,
    Column("name", String(96), primary_key=True),
    Column("labels", String(512), primary_key=True),
    Column("value", Float, nullable=False),
)

# Security state (migration 0007): revocable admin sessions, spent form tokens, and
# attempt counters that bound what unauthenticated callers can cost.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE")),
    Column("token_fingerprint", String(64)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Index("ix_admin_sessions_expires", "expires_at"),
)

used_form_tokens = Table(
    "used_form_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE")),
    Column("used_at", UTCDateTime(), nullable=False),
    Index("ix_used_form_tokens_used_at", "used_at"),
)

auth_throttle = Table(
    "auth_throttle",
    metadata,
    Column("scope", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
)

# A call of one of TaskBridge's automation rules, which its workflow waits on until
# TaskBridge answers (migration 0009); `event_token_enc` is encrypted like tokens.
robot_waits = Table(
    "robot_waits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("portal_id", Integer, ForeignKey("portals.id", ondelete="CASCADE"), nullable=False),
    Column("call_key", String(64), nullable=False),
    Column("workflow_id", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("entity_type_id", Integer, nullable=False),
    Column("item_id", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("event_token_enc", Text, nullable=False),
    Column("options", JSON, nullable=False),
    Column("task_id", BigInteger),
    Column("answer", JSON),
    Column("journal_id", BigInteger),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("answered_at", UTCDateTime()),
    UniqueConstraint("portal_id", "call_key", name="uq_robot_waits_call"),
    Index("ix_robot_waits_item", "portal_id", "entity_type_id", "item_id", "state"),
)

Index("ix_portals_state", portals.c.state)

"""Alembic environment: TaskBridge passes its own connection in `config.attributes`."""

from __future__ import annotations

from alembic import context

from connector.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic's own CLI is used
    raise RuntimeError("run migrations with `taskbridge db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

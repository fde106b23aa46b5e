"""Migrations bring an empty SQLite or PostgreSQL database to the newest schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import inspect, text

from connector.settings import Settings
from connector.storage import engines
from connector.storage.engines import make_engine

TABLES = {"portals", "journal", "task_snapshots", "crm_item_statuses", "write_log"}


def _assert_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    assert engines.current_revision(engine) is None
    assert engines.upgrade(engine) == engines.head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert engines.is_current(engine)
    # A second upgrade is a no-op, as on every start.
    assert engines.upgrade(engine) == engines.head_revision()
    engine.dispose()


def test_sqlite_from_empty(make_settings: Callable[..., Settings]) -> None:
    _assert_schema(make_settings().database_url)


def test_sqlite_uses_wal(make_settings: Callable[..., Settings]) -> None:
    engine = make_engine(make_settings().database_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_default_sqlite_lives_under_var(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(database_url="sqlite:///var/taskbridge.sqlite3")
    engine = make_engine(settings.database_url)
    engines.upgrade(engine)
    engine.dispose()
    from pathlib import Path

    assert Path("var/taskbridge.sqlite3").is_file()


@pytest.mark.postgres
def test_postgresql_from_empty(pg_url: str) -> None:
    _assert_schema(pg_url)


def test_every_table_in_the_code_has_a_migration(make_settings: Callable[..., Settings]) -> None:
    from connector.storage.schema import metadata

    engine = make_engine(make_settings().database_url)
    engines.upgrade(engine)
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        migrated = {column["name"] for column in inspector.get_columns(table.name)}
        assert {column.name for column in table.columns} == migrated, table.name
    engine.dispose()

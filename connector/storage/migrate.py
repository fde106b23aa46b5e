"""Apply and check the Alembic migrations shipped in `connector/migrations/`; readiness."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector.errors import StorageError
from connector.storage.journal import Journal
from connector.storage.journal_rows import FAILED, PENDING, PROCESSING

QUEUED = (PENDING, FAILED, PROCESSING)


class DatabaseUnavailable(StorageError):
    """The database did not answer; `reason` names the driver's error class."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SCRIPT_LOCATION = str(Path(__file__).resolve().parent.parent / "migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "connector/migrations has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; returns the revision it is at afterwards."""
    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One migrator at a time when several processes start together.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274001)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine)


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def readiness(engine: Engine) -> tuple[str | None, int]:
    """(the schema's revision, journal rows waiting or running), for `/readyz`; raises
    `DatabaseUnavailable` when the database does not answer."""
    try:
        return current_revision(engine), Journal(engine).depth(QUEUED)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(type(exc).__name__) from exc

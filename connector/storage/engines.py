"""The database as TaskBridge opens it.

- Engines for SQLite (WAL, under ./var by default) and PostgreSQL (psycopg 3).
- The Alembic migrations shipped in `connector/migrations/`: applied, checked, and the
  readiness `/readyz` reports.
- Opening the database at start-up (`open_storage`): migrate, then check the secret key
  opens the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from connector.errors import SecretKeyError, SettingsError, StorageError
from connector.settings import Settings
from connector.storage.journal import Journal
from connector.storage.journal_rows import FAILED, PENDING, PROCESSING
from connector.storage.portals import PortalStore
from connector.storage.schema import portals
from connector.storage.token_cipher import TokenCipher


def engine_url(database_url: str) -> str:
    """The SQLAlchemy URL with the driver TaskBridge uses for each database."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def make_engine(database_url: str) -> Engine:
    """Create the engine; for SQLite make the folder and switch the file to WAL."""
    url = make_url(engine_url(database_url))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.render_as_string(hide_password=False), url.database)
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except ModuleNotFoundError as exc:
        raise SettingsError(
            "TASKBRIDGE_DATABASE_URL: PostgreSQL needs the driver: "
            "pip install 'b24-taskbridge[postgres]'"
        ) from exc


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


# -- the migrations ------------------------------------------------------------------------

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


_migrate = upgrade  # `open_storage(upgrade=...)` hides the name `upgrade` in its body


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def readiness(engine: Engine) -> tuple[str | None, int]:
    """(the schema's revision, journal rows waiting or running), for `/readyz`; raises
    `DatabaseUnavailable` when the database does not answer."""
    try:
        return current_revision(engine), Journal(engine).depth(QUEUED)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(type(exc).__name__) from exc


# -- opening the database at start-up ---------------------------------------------------

@dataclass(frozen=True)
class Storage:
    engine: Engine
    cipher: TokenCipher
    portals: PortalStore


def open_storage(settings: Settings, *, upgrade: bool = True) -> Storage:
    """Connect, apply pending migrations (unless told not to) and verify the secret key."""
    engine = make_engine(settings.database_url)
    if upgrade:
        _migrate(engine)
    cipher = TokenCipher(settings.secret_key.get_secret_value())
    check_secret_key(engine, cipher)
    return Storage(engine=engine, cipher=cipher, portals=PortalStore(engine, cipher))


def check_secret_key(engine: Engine, cipher: TokenCipher) -> None:
    """Refuse to run when stored tokens exist that this key cannot decrypt."""
    columns = (portals.c.access_token_enc, portals.c.refresh_token_enc, portals.c.webhook_url_enc)
    with engine.connect() as conn:
        sealed = conn.execute(
            select(*columns).where(or_(*(column.is_not(None) for column in columns))).limit(1)
        ).first()
    if sealed is None:
        return
    if not cipher.has_key:
        raise SecretKeyError(
            "TASKBRIDGE_SECRET_KEY is not set, but the database holds encrypted portal tokens"
        )
    cipher.decrypt(next(value for value in sealed if value))

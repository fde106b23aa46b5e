"""Opening the database at start-up: migrate, then check the secret key opens the tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, or_, select

from connector.errors import SecretKeyError
from connector.settings import Settings
from connector.storage import migrate
from connector.storage.engines import make_engine
from connector.storage.portals import PortalStore
from connector.storage.schema import portals
from connector.storage.token_cipher import TokenCipher


@dataclass(frozen=True)
class Storage:
    engine: Engine
    cipher: TokenCipher
    portals: PortalStore


def open_storage(settings: Settings, *, upgrade: bool = True) -> Storage:
    """Connect, apply pending migrations (unless told not to) and verify the secret key."""
    engine = make_engine(settings.database_url)
    if upgrade:
        migrate.upgrade(engine)
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

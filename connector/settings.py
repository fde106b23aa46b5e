"""TaskBridge settings: environment, `.env` and an optional TOML file, prefix `TASKBRIDGE_`.

Precedence, highest first: keyword arguments, environment, `.env`, the TOML file named by
`TASKBRIDGE_CONFIG_FILE` (or `config/taskbridge.toml` when present), then the defaults.
A bad value raises `SettingsError` with one line naming the setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.errors import SettingsError

DEFAULT_TOML = Path("config/taskbridge.toml")
BITRIX_OAUTH_URL = "https://oauth.bitrix.info"


class Settings(BaseSettings):
    """Every setting TaskBridge reads; see README.md for each one."""

    model_config = SettingsConfigDict(
        env_prefix="TASKBRIDGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str = Field(
        default="sqlite:///var/taskbridge.sqlite3",
        description="SQLAlchemy URL; SQLite (WAL) under ./var by default, or postgresql://...",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL the portal calls for events, install and placements.",
    )
    client_id: str = Field(default="", description="The local app's client_id (application ID).")
    client_secret: SecretStr = Field(default=SecretStr(""), description="The app's client secret.")
    oauth_url: str = Field(default=BITRIX_OAUTH_URL, description="OAuth server for token refresh.")
    secret_key: SecretStr = Field(
        default=SecretStr(""), description="Fernet key that encrypts tokens at rest."
    )
    admin_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token for the /admin/ pages and API."
    )
    allow_insecure_portals: bool = Field(
        default=False, description="Development only: accept http:// and loopback portals."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    http_timeout: float = Field(default=30.0, gt=0, le=120, description="REST timeout, seconds.")
    worker_poll_interval: float = Field(default=1.0, gt=0, le=60)
    worker_coalesce_seconds: float = Field(
        default=2.0, ge=0, le=60,
        description="A new event waits this long so a burst on one object is fetched once.",
    )
    worker_stale_seconds: int = Field(
        default=120, ge=10, le=3600,
        description="Rows held this long without a heartbeat are taken back from a dead worker.",
    )
    worker_max_attempts: int = Field(default=8, ge=1, le=100)
    overdue_sweep_interval: int = Field(default=300, ge=5, description="Seconds between sweeps.")
    deadline_recheck_seconds: int = Field(
        default=15, ge=1, le=300,
        description="Seconds between reads of the earliest deadline stored by other workers.",
    )
    reconcile_interval: int = Field(default=900, ge=30, description="Seconds between reconciles.")
    journal_retention_days: int = Field(
        default=30, ge=1, description="Days finished events stay in the sync log."
    )
    max_event_body: int = Field(default=256 * 1024, ge=1024, description="Largest event, bytes.")
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token for /metrics; unset, only loopback callers may read it.",
    )
    trust_proxy: bool = Field(
        default=False,
        description="Behind a TLS-terminating proxy: trust its X-Forwarded-Proto and -For.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        toml_path = _toml_path()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("must start with sqlite:// or postgresql://")
        if scheme == "postgres":
            value = "postgresql" + value[len("postgres"):]
        return value

    @field_validator("public_url", "oauth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw:
            from connector.storage.token_cipher import validate_key

            validate_key(raw)
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _toml_path() -> Path | None:
    named = os.environ.get("TASKBRIDGE_CONFIG_FILE")
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"TASKBRIDGE_CONFIG_FILE: no such file: {named}")
        return path
    return DEFAULT_TOML if DEFAULT_TOML.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; any problem becomes one `SettingsError` line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"TASKBRIDGE_{name.upper()}: {message}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"TASKBRIDGE_CONFIG_FILE: not valid TOML: {exc}") from None

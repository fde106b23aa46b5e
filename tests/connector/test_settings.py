"""Settings: defaults, the three sources, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import SettingsError
from connector.settings import load_settings


def test_defaults_work_for_local_use() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/taskbridge.sqlite3"
    assert settings.is_sqlite
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.oauth_url == "https://oauth.bitrix.info"
    assert settings.allow_insecure_portals is False
    assert settings.secret_key.get_secret_value() == ""


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, secret_key: str) -> None:
    monkeypatch.setenv("TASKBRIDGE_DATABASE_URL", "postgres://u@127.0.0.1/db")
    monkeypatch.setenv("TASKBRIDGE_PUBLIC_URL", "https://tb.example.com/")
    monkeypatch.setenv("TASKBRIDGE_SECRET_KEY", secret_key)
    monkeypatch.setenv("TASKBRIDGE_ALLOW_INSECURE_PORTALS", "true")
    settings = load_settings()
    assert settings.database_url == "postgresql://u@127.0.0.1/db"
    assert settings.public_url == "https://tb.example.com"
    assert settings.secret_key.get_secret_value() == secret_key
    assert settings.allow_insecure_portals is True
    assert not settings.is_sqlite


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TASKBRIDGE_CLIENT_ID=local.abc.1\n")
    assert load_settings().client_id == "local.abc.1"


def test_toml_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tb.toml"
    config.write_text('client_id = "from-toml"\nhttp_timeout = 12.5\n')
    monkeypatch.setenv("TASKBRIDGE_CONFIG_FILE", str(config))
    monkeypatch.setenv("TASKBRIDGE_CLIENT_ID", "from-env")
    settings = load_settings()
    assert settings.client_id == "from-env"
    assert settings.http_timeout == 12.5


def test_default_toml_location_is_read(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "taskbridge.toml").write_text('public_url = "https://x.example"\n')
    assert load_settings().public_url == "https://x.example"


def test_shipped_example_toml_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "taskbridge.example.toml"
    monkeypatch.setenv("TASKBRIDGE_CONFIG_FILE", str(example))
    assert load_settings().database_url == "sqlite:///var/taskbridge.sqlite3"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x/y", "TASKBRIDGE_DATABASE_URL: must start with sqlite://"),
        ("PUBLIC_URL", "ftp://x", "TASKBRIDGE_PUBLIC_URL: must be an http:// or https:// URL"),
        ("OAUTH_URL", "not a url", "TASKBRIDGE_OAUTH_URL: must be an http"),
        ("SECRET_KEY", "short", "TASKBRIDGE_SECRET_KEY: must be a Fernet key"),
        ("ALLOW_INSECURE_PORTALS", "maybe", "TASKBRIDGE_ALLOW_INSECURE_PORTALS: Input should"),
        ("HTTP_TIMEOUT", "-1", "TASKBRIDGE_HTTP_TIMEOUT: Input should be greater than 0"),
        ("LOG_LEVEL", "LOUD", "TASKBRIDGE_LOG_LEVEL: Input should be"),
        ("MAX_EVENT_BODY", "12", "TASKBRIDGE_MAX_EVENT_BODY: Input should be greater"),
        ("DEADLINE_RECHECK_SECONDS", "0",
         "TASKBRIDGE_DEADLINE_RECHECK_SECONDS: Input should be greater than or equal to 1"),
        ("DEADLINE_RECHECK_SECONDS", "301",
         "TASKBRIDGE_DEADLINE_RECHECK_SECONDS: Input should be less than or equal to 300"),
    ],
)
def test_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"TASKBRIDGE_{name}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKBRIDGE_CONFIG_FILE", "/nonexistent/tb.toml")
    with pytest.raises(SettingsError, match="TASKBRIDGE_CONFIG_FILE: no such file"):
        load_settings()


def test_broken_toml_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("client_id = \n")
    monkeypatch.setenv("TASKBRIDGE_CONFIG_FILE", str(config))
    with pytest.raises(SettingsError, match="TASKBRIDGE_CONFIG_FILE: not valid TOML"):
        load_settings()


def test_secrets_stay_out_of_repr(secret_key: str) -> None:
    settings = load_settings(secret_key=secret_key, client_secret="cs-123", admin_token="adm")
    text = repr(settings)
    assert secret_key not in text
    assert "cs-123" not in text
    assert "adm'" not in text

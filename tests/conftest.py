"""Shared fixtures: a clean TASKBRIDGE_* environment per test, settings, databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.settings import Settings, load_settings
from connector.storage.token_cipher import new_key

PG_URL_ENV = "TASKBRIDGE_TEST_PG_URL"
# `make test` as root installs PostgreSQL and Chromium, so there a missing one is a broken
# run, not a reason to skip: it names them here and the tests that need them fail.
REQUIRED_ENV = "TASKBRIDGE_TEST_REQUIRE"


def required(service: str) -> bool:
    """Whether this run must have `service` (postgres, chromium) rather than skip without it."""
    return service in os.environ.get(REQUIRED_ENV, "").replace(",", " ").split()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees another's settings: clear TASKBRIDGE_*, run in an empty directory."""
    for name in list(os.environ):
        if name.startswith("TASKBRIDGE_") and name != PG_URL_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def secret_key() -> str:
    return new_key()


@pytest.fixture
def make_settings(tmp_path: Path, secret_key: str) -> Callable[..., Settings]:
    """Settings on a fresh SQLite file in this test's directory, overridable per call."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'taskbridge.sqlite3'}",
            "secret_key": secret_key,
            "allow_insecure_portals": True,
        }
        values.update(overrides)
        return load_settings(**values)

    return factory


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        reason = f"{PG_URL_ENV} is not set: run through `make test`, which starts PostgreSQL"
        if required("postgres"):
            pytest.fail(f"{reason} (and {REQUIRED_ENV} says this run needs it)")
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_storage(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Any:
    """A fresh Storage, once on SQLite and once on PostgreSQL."""
    from connector.storage.engines import open_storage

    if request.param == "postgresql":
        return open_storage(make_settings(database_url=request.getfixturevalue("pg_url")))
    return open_storage(make_settings())


@pytest.fixture
def portal(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An emulated Bitrix24 portal on loopback, limits off. More `Portal` options through
    `@pytest.mark.parametrize("portal", [{"rest_v3": False}], indirect=True)`."""
    from tests.support.stack import emulated_portal

    options = {"limits": False, **getattr(request, "param", {})}
    with emulated_portal(**options) as running:
        yield running


@pytest.fixture
def taskbridge(portal: Any, tmp_path: Path, secret_key: str) -> Iterator[Any]:
    """TaskBridge's web app on loopback, set up for `portal` (not installed yet)."""
    from tests.support.stack import taskbridge_for

    url = f"sqlite:///{tmp_path / 'taskbridge.sqlite3'}"
    with taskbridge_for(portal, url, secret_key) as running:
        yield running

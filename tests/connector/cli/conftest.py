"""Fixtures for the CLI's tests that run against the emulated portal: the scenarios'
installed TaskBridge and its people, and TASKBRIDGE_* pointing the CLI at them."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import installed, people  # noqa: F401  (fixtures, by name)
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, TaskBridge


@pytest.fixture
def taskbridge_env(installed: TaskBridge, monkeypatch: pytest.MonkeyPatch) -> TaskBridge:  # noqa: F811
    """`installed`, with the CLI's settings in the environment as an operator sets them."""
    settings = installed.settings
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_URL": settings.oauth_url, "ALLOW_INSECURE_PORTALS": "true",
        "HTTP_TIMEOUT": "10", "PUBLIC_URL": installed.url,
    }.items():
        monkeypatch.setenv(f"TASKBRIDGE_{name}", value)
    return installed

"""Fixtures for every connector test: `storage` is a fresh SQLite database at the newest
schema (`any_storage`, in tests/conftest.py, runs a test on PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connector.settings import Settings
from connector.storage.engines import Storage, open_storage


@pytest.fixture
def storage(make_settings: Callable[..., Settings]) -> Iterator[Storage]:
    """An empty database in this test's directory, opened the way the app opens it."""
    opened = open_storage(make_settings())
    yield opened
    opened.engine.dispose()

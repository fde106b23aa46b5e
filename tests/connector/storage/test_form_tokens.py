"""Spent form tokens: an id is spent once, and rows older than a form's life are dropped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from connector.settings import Settings
from connector.storage.access import FormTokenStore
from connector.storage.engines import open_storage
from connector.storage.portals import Installation
from connector.storage.schema import used_form_tokens

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_an_id_is_spent_once_and_old_ids_are_forgotten(
        make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    portal_row = storage.portals.save(Installation(member_id="m", domain="m.example",
                                                   client_endpoint="https://m.example/rest/"))
    store = FormTokenStore(storage.engine, max_age=3600)
    assert store.spend("a", portal_row.id, now=T0)
    assert not store.spend("a", portal_row.id, now=T0 + timedelta(minutes=59))
    assert store.spend("b", portal_row.id, now=T0 + timedelta(minutes=61))  # drops "a"
    with storage.engine.connect() as conn:
        kept = conn.execute(select(used_form_tokens.c.token_id)).scalars().all()
        assert kept == ["b"]
        assert conn.execute(select(func.count()).select_from(used_form_tokens)).scalar() == 1

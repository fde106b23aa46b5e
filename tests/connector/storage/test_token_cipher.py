"""Tokens are encrypted at rest; a missing or wrong key refuses to start."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from connector.errors import SecretKeyError
from connector.settings import Settings
from connector.storage.engines import open_storage
from connector.storage.portals import Installation
from connector.storage.schema import portals
from connector.storage.token_cipher import TokenCipher, new_key

INSTALL = Installation(
    member_id="a1b2c3",
    domain="portal.example.com",
    client_endpoint="https://portal.example.com/rest/",
    access_token="access-secret-1",
    refresh_token="refresh-secret-1",
    application_token="app-token-1",
)


def test_round_trip() -> None:
    cipher = TokenCipher(new_key())
    sealed = cipher.encrypt("access-secret-1")
    assert "access-secret-1" not in sealed
    assert cipher.decrypt(sealed) == "access-secret-1"


def test_stored_tokens_are_not_plaintext(make_settings: Callable[..., Settings]) -> None:
    storage = open_storage(make_settings())
    storage.portals.save(INSTALL)
    with storage.engine.connect() as conn:
        row = conn.execute(select(portals)).one()._mapping
    stored = " ".join(str(value) for value in row.values())
    for secret in ("access-secret-1", "refresh-secret-1", "app-token-1"):
        assert secret not in stored
    assert storage.portals.get("a1b2c3").access_token == "access-secret-1"


def test_wrong_key_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    open_storage(make_settings()).portals.save(INSTALL)
    with pytest.raises(SecretKeyError, match="not the key they were saved with"):
        open_storage(make_settings(secret_key=new_key()))


def test_missing_key_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    open_storage(make_settings()).portals.save(INSTALL)
    with pytest.raises(SecretKeyError, match="TASKBRIDGE_SECRET_KEY is not set"):
        open_storage(make_settings(secret_key=""))


def test_missing_key_is_fine_while_no_tokens_are_stored(
    make_settings: Callable[..., Settings],
) -> None:
    storage = open_storage(make_settings(secret_key=""))
    with pytest.raises(SecretKeyError, match="needed to store portal tokens"):
        storage.portals.save(INSTALL)


def test_cipher_repr_hides_the_key() -> None:
    key = new_key()
    assert key not in repr(TokenCipher(key))

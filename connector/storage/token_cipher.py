"""Encrypts OAuth tokens at rest with Fernet (`TASKBRIDGE_SECRET_KEY`)."""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken

from connector.errors import SecretKeyError

PREFIX = "fernet:"


def validate_key(key: str) -> None:
    """Raise ValueError unless `key` is a urlsafe-base64 32-byte Fernet key."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError(
            "must be a Fernet key (32 url-safe base64 bytes); make one with "
            "`taskbridge keygen`"
        ) from None
    if len(raw) != 32:
        raise ValueError(
            "must be a Fernet key (32 url-safe base64 bytes); make one with `taskbridge keygen`"
        )


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    """Encrypts and decrypts token strings; an empty key refuses to store any token."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode("ascii")) if key else None

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    def encrypt(self, plaintext: str) -> str:
        if self._fernet is None:
            raise SecretKeyError(
                "TASKBRIDGE_SECRET_KEY is not set: it is needed to store portal tokens"
            )
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if self._fernet is None:
            raise SecretKeyError(
                "TASKBRIDGE_SECRET_KEY is not set but the database holds encrypted tokens"
            )
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                "TASKBRIDGE_SECRET_KEY cannot decrypt the stored tokens: it is not the key "
                "they were saved with"
            ) from None

    def __repr__(self) -> str:
        return f"TokenCipher(has_key={self.has_key})"

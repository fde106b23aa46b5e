"""Tokens of portal users who opened TaskBridge, encrypted like the portal's own.

Opening a task fires no event, and the unviewed marker answers for the calling user
only: with a user's own token TaskBridge can ask whether that user has seen the tasks
they are responsible for (`connector.scheduler.views.poll_views`).

Whose tokens they are: the access token is saved only after the portal named its user
(`user.current` in the placement's batch); the refresh token came alongside, unchecked.
It is checked on its first use, for free: the OAuth server's answer to a refresh names
`user_id` and `member_id`, and a token naming anyone else is forgotten, never saved.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from connector.storage.schema import user_tokens
from connector.storage.token_cipher import TokenCipher


class UserTokenStore:
    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def save(self, portal_id: int, user_id: int, access_token: str, refresh_token: str) -> None:
        values = {"access_token_enc": self._cipher.encrypt(access_token),
                  "refresh_token_enc": self._cipher.encrypt(refresh_token),
                  "updated_at": datetime.now(UTC)}
        with self._engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(
                insert(user_tokens)
                .values(portal_id=portal_id, user_id=user_id, **values)
                .on_conflict_do_update(index_elements=["portal_id", "user_id"], set_=values)
            )

    def for_users(self, portal_id: int, user_ids: set[int]) -> dict[int, tuple[str, str]]:
        if not user_ids:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(user_tokens).where(user_tokens.c.portal_id == portal_id,
                                          user_tokens.c.user_id.in_(sorted(user_ids)))
            ).all()
        return {row.user_id: (self._cipher.decrypt(row.access_token_enc),
                              self._cipher.decrypt(row.refresh_token_enc)) for row in rows}

    def forget(self, portal_id: int, user_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(user_tokens).where(user_tokens.c.portal_id == portal_id,
                                                   user_tokens.c.user_id == user_id))

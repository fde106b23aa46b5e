"""Form tokens spent once: the create-task form of a card tab creates at most one task.

A token's id is spent by inserting it into `used_form_tokens`; the primary key decides,
so two web processes never both spend one id. A signed token is refused once older than
its max age anyway, so rows older than that are deleted while spending (one indexed
DELETE on `used_at`): the table holds at most an hour of forms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from connector.storage.locks import write_lock
from connector.storage.schema import used_form_tokens

TOKEN_ID_MAX = 64


class FormTokenStore:
    """Spent form-token ids, kept as long as a token of theirs could still be presented."""

    def __init__(self, engine: Engine, *, max_age: float) -> None:
        self._engine = engine
        self._max_age = timedelta(seconds=max_age)

    def spend(self, token_id: str, portal_id: int, now: datetime | None = None) -> bool:
        """Mark `token_id` used; False when it already was (nothing is changed then)."""
        now = now or datetime.now(UTC)
        try:
            with write_lock(self._engine), self._engine.begin() as conn:
                conn.execute(delete(used_form_tokens)
                             .where(used_form_tokens.c.used_at < now - self._max_age))
                conn.execute(insert(used_form_tokens).values(
                    token_id=token_id[:TOKEN_ID_MAX], portal_id=portal_id, used_at=now))
        except IntegrityError:
            return False
        return True

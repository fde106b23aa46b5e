"""Who is calling and on whose behalf a change happens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    """The author of a change: drives events (``auth[user_id]``) and echo suppression."""

    actor_id: int
    client_id: str | None = None
    auth_connector: str = ""


@dataclass(frozen=True)
class CallContext:
    """One authenticated REST call."""

    user_id: int
    auth_type: str  # "webhook" or "oauth"
    client_id: str | None = None
    scope: tuple[str, ...] = ()
    auth_connector: str = ""

    @property
    def is_app(self) -> bool:
        return self.auth_type == "oauth"

    def change(self) -> Change:
        return Change(self.user_id, self.client_id, self.auth_connector)

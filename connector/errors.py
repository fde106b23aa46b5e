"""Errors of the connector package.

    TaskBridgeError
    ├── SettingsError          a setting is missing or wrong (one line, names the setting)
    ├── StorageError
    │   ├── SecretKeyError     the database holds tokens the configured key cannot open
    │   └── MigrationError     the schema is not at the version this code expects
    ├── PortalNotFound         no installed portal has that member_id
    ├── InvalidApplicationToken  an event from an unknown portal or with a wrong token
    └── PortalUninstalled      an event from a portal that uninstalled TaskBridge

The REST client's own hierarchy (`BitrixError` and its subclasses) lives in
`connector.rest.errors`.
"""

from __future__ import annotations


class TaskBridgeError(Exception):
    """Root of every error TaskBridge raises on purpose."""


class SettingsError(TaskBridgeError):
    """A setting is missing or has a bad value; the message names it."""


class StorageError(TaskBridgeError):
    """The database cannot be used as configured."""


class SecretKeyError(StorageError):
    """Encrypted tokens exist but TASKBRIDGE_SECRET_KEY is missing or cannot decrypt them."""


class MigrationError(StorageError):
    """The database schema is not at the revision this code needs."""


class PortalNotFound(TaskBridgeError):
    """No portal with that member_id is stored."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"no portal with member_id {member_id!r}")
        self.member_id = member_id


class InvalidApplicationToken(TaskBridgeError):
    """An event that does not come from an installed portal: unknown member or wrong token.

    `reason` says which, for the log; the answer to the sender never does.
    """

    def __init__(self, member_id: str, reason: str) -> None:
        super().__init__(f"event refused for portal {member_id!r}: {reason}")
        self.member_id = member_id
        self.reason = reason


class PortalUninstalled(TaskBridgeError):
    """An event from a portal that has uninstalled TaskBridge."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"portal {member_id!r} has uninstalled TaskBridge")
        self.member_id = member_id

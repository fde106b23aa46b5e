"""Errors of the connector package.

    TaskBridgeError
    ├── SettingsError          a setting is missing or wrong (one line, names the setting)
    ├── StorageError
    │   ├── SecretKeyError     the database holds tokens the configured key cannot open
    │   └── MigrationError     the schema is not at the version this code expects
    └── PortalNotFound         no installed portal has that member_id

The REST client's own hierarchy (`BitrixError` and its subclasses) lives in
`connector.rest_errors`.
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

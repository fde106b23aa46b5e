"""Every error TaskBridge raises on purpose, as one tree under `TaskBridgeError`.

The rule: each package's root is defined here, with the errors more than one package
raises; an error only one module raises lives beside it, under its package's root. Names
say what the caller does next, and errors carry their context (ids, codes). Foreign
errors are translated where they enter (`raise ... from exc`).

    TaskBridgeError
    ├── SettingsError                a setting is missing or wrong (one line, names it)
    ├── StorageError                 the database cannot be used as configured
    │   ├── SecretKeyError           stored tokens the configured key cannot open
    │   ├── MigrationError           the schema is not at the version this code expects
    │   ├── DatabaseUnavailable      the database did not answer (`reason`; storage.engines)
    │   ├── PortalNotFound           no installed portal has that member_id (`member_id`)
    │   └── FilterError              a sync log filter value cannot be read (storage.sync_log)
    ├── RestError                    talking to a portal or its OAuth server (connector.rest)
    │   ├── BitrixError              method, http_status, code, description; `refused_input`
    │   │   └── ...                  the REST client's tree, drawn in connector.rest.errors
    │   ├── PortalMoved              the portal answered a redirect: repeat at `location`
    │   ├── RefreshLockTimeout       another process holds the refresh lease: try later
    │   ├── OAuthError               the OAuth server refused or failed (`code`)
    │   └── InsecurePortal           an address this deployment will not call
    ├── PortalError                  installing and configuring a portal (connector.portals)
    │   ├── InstallRefused           the install is not vouched for: refuse it (403)
    │   └── PortalSettingsError      a setting's name or value is wrong: fix it
    ├── SyncError                    taking in events and acting on them (connector.sync)
    │   ├── EventRefused             an event TaskBridge will not journal (`member_id`)
    │   │   ├── InvalidApplicationToken  unknown portal or wrong token: 401
    │   │   └── PortalUninstalled    the portal uninstalled TaskBridge: 410
    │   ├── InvalidNewTask           a new task's value is wrong: fix `field`
    │   ├── TaskNotCreated           the portal refused the task (`code`, `refused_input`)
    │   │   └── ItemUnavailable      the deal or lead cannot be read: 404
    │   ├── TaskPartlyCreated        the task exists (`task_id`) but not all of it
    │   └── ReplayRefused            no such failed or dead row: nothing replays
    ├── SchedulerError               jobs no event triggers (connector.scheduler)
    │   └── UnusableOfflineRecord    an offline record names nothing to act on: mark it
    └── WebhookError                 a request refused (webhooks.errors: status, code)

The CLI's user errors are `click.ClickException` subclasses (one line each); the mappers'
parsers raise `mappers.errors.ValidationError`, which is not a TaskBridgeError: it is the
input's fault and `webhooks/` answers it with 400.
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


class PortalNotFound(StorageError):
    """No portal with that member_id is stored."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"no portal with member_id {member_id!r}")
        self.member_id = member_id


class RestError(TaskBridgeError):
    """Root of the REST client's errors (`connector.rest`)."""


class PortalError(TaskBridgeError):
    """Root of installing and configuring a portal (`connector.portals`)."""


class SchedulerError(TaskBridgeError):
    """Root of the scheduled jobs' errors (`connector.scheduler`)."""


class SyncError(TaskBridgeError):
    """Root of taking in events and acting on them (`connector.sync`)."""


class EventRefused(SyncError):
    """An event TaskBridge will not journal; `member_id` names the portal it claims."""


class InvalidApplicationToken(EventRefused):
    """An event that does not come from an installed portal: unknown member or wrong token.

    `reason` says which, for the log; the answer to the sender never does.
    """

    def __init__(self, member_id: str, reason: str) -> None:
        super().__init__(f"event refused for portal {member_id!r}: {reason}")
        self.member_id = member_id
        self.reason = reason


class PortalUninstalled(EventRefused):
    """An event from a portal that has uninstalled TaskBridge."""

    def __init__(self, member_id: str) -> None:
        super().__init__(f"portal {member_id!r} has uninstalled TaskBridge")
        self.member_id = member_id

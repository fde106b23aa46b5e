"""Refusals of the web app: a view raises one, its blueprint's one error handler answers.

    TaskBridgeError                   (connector.errors)
    └── WebhookError                  status, code, description; optional field, headers
        ├── BodyError                 a body TaskBridge will not read (400, 413, 415)
        ├── PlacementRefused          a placement open or its user is refused
        ├── TabFormRefused            a card tab's create-task form is refused
        ├── TaskApiRefused            `POST /bitrix/tasks` is refused (JSON, `field`)
        ├── MetricsRefused            `/metrics` asked without the token or from afar
        └── AdminAuthError            who may see `/admin/` (webhooks.admin_auth)
            ├── CsrfError             the form did not come from this site: reload it
            └── TooManyGuesses        wrong admin tokens from this address: wait

The JSON answer is `{"status": "error", "error": code, "error_description": ...}`, plus
`field` when one value is at fault; the admin pages render the same refusal as a page.
"""

from __future__ import annotations

from typing import Any

from connector.errors import TaskBridgeError


class WebhookError(TaskBridgeError):
    """A request TaskBridge refuses: `status` is the HTTP answer, `code` its reason."""

    def __init__(self, status: int, code: str, description: str = "", *,
                 field: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(description or code)
        self.status = status
        self.code = code
        self.description = description
        self.field = field
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body of the answer."""
        body: dict[str, Any] = {"status": "error", "error": self.code}
        if self.description:
            body["error_description"] = self.description
        if self.field is not None:
            body["field"] = self.field
        return {**body, **self.extra}


class BodyError(WebhookError):
    """A body TaskBridge will not read: too large, not form or JSON, malformed."""


class PlacementRefused(WebhookError):
    """A placement request TaskBridge will not serve; after 429, retry in `retry_after` s."""

    def __init__(self, status: int, code: str, description: str,
                 retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        super().__init__(status, code, description, headers=headers)
        self.retry_after = retry_after


class TabFormRefused(WebhookError):
    """A card tab's create-task form TaskBridge will not act on: reopen the tab or fix it."""


class TaskApiRefused(WebhookError):
    """A `POST /bitrix/tasks` refused; a 401 names the Bearer scheme to use."""

    def __init__(self, status: int, code: str, description: str, field: str | None = None,
                 **extra: Any) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="taskbridge"'} if status == 401 else None
        super().__init__(status, code, description, field=field, headers=headers,
                         extra=extra)


class MetricsRefused(WebhookError):
    """A scrape without the metrics token, or from a non-loopback address without one set."""

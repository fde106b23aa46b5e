"""Errors the REST client raises, one type per thing the caller does next.

    TaskBridgeError
    └── RestError                    the package's root (connector.errors)
        ├── PortalMoved              the portal answered a redirect to `location`:
        │                            record the address and repeat there (the client does)
        ├── OAuthError, InsecurePortal, RefreshLockTimeout (beside the code raising them)
        └── BitrixError              method, http_status, code, description; `refused_input`
            ├── AuthError                401 the portal refused the credentials
            │   ├── ExpiredToken         401 expired_token: refresh, then repeat (the client does)
            │   └── ReinstallRequired    the refresh token is dead (invalid_grant) or the portal
            │                            is marked needs_reinstall; no request was sent
            ├── InsufficientScope        403 insufficient_scope / ACCESS_DENIED / WRONG_AUTH_TYPE
            ├── NotFound                 the object or the method does not exist
            ├── QueryLimitExceeded       503 QUERY_LIMIT_EXCEEDED / OVERLOAD_LIMIT (never ran)
            ├── OperationTimeLimit       429 OPERATION_TIME_LIMIT; `reset_at` (epoch seconds)
            ├── PortalGone               the portal is deleted, blocked or unpaid
            ├── ServerError              500/502/504: the portal failed (a write may have run)
            ├── TransportError           no usable answer: connection, timeout, malformed body;
            │                            `maybe_delivered` says whether the portal may have run it
            ├── OutcomeUnknown           a write may or may not have run: reconcile, don't repeat
            └── MethodError              any other method error (400): bad arguments and the like

`error_for(status, code)` is the one place that turns a portal answer into a class.
"""

from __future__ import annotations

from connector.errors import RestError


class PortalMoved(RestError):
    """The portal answered a redirect: its address changed to `location`."""

    def __init__(self, location: str) -> None:
        super().__init__("portal moved")
        self.location = location


class BitrixError(RestError):
    """A REST call failed; carries the Bitrix error code and description.

    `refused_input` is true when the portal refused what was asked (a bad argument, an
    object it does not know), false when the portal failed or could not be reached.
    """

    refused_input = False

    def __init__(
        self,
        description: str = "",
        *,
        method: str = "",
        http_status: int | None = None,
        code: str = "",
    ) -> None:
        self.method = method
        self.http_status = http_status
        self.code = code
        self.description = description
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.method}: " if self.method else ""
        status = f" (HTTP {self.http_status})" if self.http_status is not None else ""
        text = f"{self.code}: {self.description}" if self.code else self.description
        return f"{head}{text}{status}"


class AuthError(BitrixError):
    """The portal did not accept the credentials."""


class ExpiredToken(AuthError):
    """The access token expired; refresh it and repeat the call."""


class ReinstallRequired(AuthError):
    """The portal's refresh token is dead: an admin must reinstall the app there."""


class InsufficientScope(BitrixError):
    """The app or user may not do this (scope, rights, auth type)."""


class NotFound(BitrixError):
    """The object or method does not exist."""

    refused_input = True


class QueryLimitExceeded(BitrixError):
    """The portal's request bucket is full; the call did not run."""


class OperationTimeLimit(BitrixError):
    """The method used up its operating time on this portal until `reset_at`."""

    def __init__(self, description: str = "", *, reset_at: float | None = None, **kw: object):
        self.reset_at = reset_at
        super().__init__(description, **kw)  # type: ignore[arg-type]


class PortalGone(BitrixError):
    """The portal no longer serves this app (deleted, blocked, unpaid)."""


class ServerError(BitrixError):
    """The portal answered 5xx; for a write the outcome is unknown."""


class TransportError(BitrixError):
    """No usable answer: connection failure, timeout or an unreadable body."""

    def __init__(self, description: str = "", *, maybe_delivered: bool = True, **kw: object):
        self.maybe_delivered = maybe_delivered
        super().__init__(description, **kw)  # type: ignore[arg-type]


class OutcomeUnknown(BitrixError):
    """A write may have run on the portal; reconcile instead of repeating it."""


class MethodError(BitrixError):
    """The method refused the call (bad arguments and the like)."""

    refused_input = True


_BY_CODE: dict[str, type[BitrixError]] = {
    "expired_token": ExpiredToken,
    "invalid_token": AuthError,
    "no_auth_found": AuthError,
    "invalid_credentials": AuthError,
    "invalid_grant": ReinstallRequired,
    "insufficient_scope": InsufficientScope,
    "access_denied": InsufficientScope,
    "wrong_auth_type": InsufficientScope,
    "method_not_allowed": InsufficientScope,
    "not_found": NotFound,
    "error_not_found": NotFound,
    "error_method_not_found": NotFound,
    "query_limit_exceeded": QueryLimitExceeded,
    "overload_limit": QueryLimitExceeded,
    "operation_time_limit": OperationTimeLimit,
    "portal_deleted": PortalGone,
    "account_blocked": PortalGone,
    "license_expired": PortalGone,
    "payment_required": PortalGone,
    "application_not_found": PortalGone,
    "internal_server_error": ServerError,
}

_BY_STATUS: dict[int, type[BitrixError]] = {
    401: AuthError,
    403: InsufficientScope,
    404: NotFound,
    429: OperationTimeLimit,
    500: ServerError,
    502: ServerError,
    503: QueryLimitExceeded,
    504: ServerError,
}


def error_for(status: int | None, code: str) -> type[BitrixError]:
    """The class for a portal answer: the error code decides, then the HTTP status."""
    by_code = _BY_CODE.get(code.lower()) if code else None
    if by_code is not None:
        return by_code
    if status is not None and status in _BY_STATUS:
        return _BY_STATUS[status]
    if status is not None and status >= 500:
        return ServerError
    return MethodError


def make_error(
    method: str,
    status: int | None,
    code: str,
    description: str,
    *,
    reset_at: float | None = None,
) -> BitrixError:
    """Build the error for an answer; OperationTimeLimit gets its `reset_at`."""
    cls = error_for(status, code)
    if cls is OperationTimeLimit:
        return OperationTimeLimit(
            description, reset_at=reset_at, method=method, http_status=status, code=code
        )
    return cls(description, method=method, http_status=status, code=code)

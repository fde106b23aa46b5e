"""One HTTP POST to a portal, turned into a JSON body or a typed error.

The only module that touches `requests`: one `Session`, a (connect, read) timeout on every
request, redirects never followed by `requests` (a 302 becomes `PortalMoved`, so the
client can repeat the POST and record the new address). Credentials travel in the JSON
body, never in a URL that could reach a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from connector.rest.errors import PortalMoved, TransportError, make_error

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


class RestTransport:
    def __init__(self, timeout: float = 30.0, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)

    def post(self, url: str, payload: dict[str, Any], *, method: str,
             headers: Mapping[str, str] | None = None) -> Answer:
        """POST `payload` as JSON; return the success body or raise a `BitrixError`."""
        try:
            response = self.session.post(
                url, json=payload, timeout=self.timeout, allow_redirects=False,
                headers=dict(headers) if headers else None,
            )
        except requests.ConnectTimeout:
            raise TransportError("connect timeout", method=method, maybe_delivered=False) from None
        except requests.ReadTimeout:
            raise TransportError("read timeout", method=method) from None
        except requests.ConnectionError as exc:
            raise TransportError(
                f"connection failed: {type(_root(exc)).__name__}",
                method=method, maybe_delivered=not _never_connected(exc),
            ) from None
        except requests.RequestException as exc:
            raise TransportError(type(exc).__name__, method=method) from None
        if response.is_redirect:
            raise PortalMoved(response.headers.get("Location", ""))
        return Answer(response.status_code, _body(response, method), response.headers)

    def close(self) -> None:
        self.session.close()


def _body(response: requests.Response, method: str) -> dict[str, Any]:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if status >= 400:
            raise make_error(method, status, "", f"HTTP {status} without a JSON error")
        raise TransportError(f"unreadable answer (HTTP {status})", method=method,
                             http_status=status)
    code = body.get("error")
    if isinstance(code, dict):
        # REST 3.0 answers `{"error": {"code": ..., "message": ...}}`.
        body = {**body, "error_description": code.get("message") or ""}
        code = code.get("code") or ""
    if code is not None or status >= 400:
        timing = body.get("time") if isinstance(body.get("time"), dict) else {}
        reset_at = timing.get("operating_reset_at")
        raise make_error(
            method, status, str(code or ""), str(body.get("error_description") or ""),
            reset_at=float(reset_at) if isinstance(reset_at, int | float) else None,
        )
    if "result" not in body:
        raise TransportError("answer without a result", method=method, http_status=status)
    return body


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3 keeps the cause in `.reason` or `.args`)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    return chain


def _root(exc: BaseException) -> BaseException:
    return _chain(exc)[-1]


_NEVER_CONNECTED = frozenset({
    "NewConnectionError", "ConnectionRefusedError", "NameResolutionError", "ConnectTimeoutError",
})


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never opened, so the portal cannot have run it."""
    return any(type(link).__name__ in _NEVER_CONNECTED for link in _chain(exc))

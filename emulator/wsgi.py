"""The portal's HTTP face: routes REST, OAuth and control requests (plain WSGI)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator import envelope, php_form
from emulator.call_log import CallRecord
from emulator.errors import OAuthError, RestError
from emulator.faults import Fault
from emulator.http_server import SOCKET_KEY
from emulator.limits import QueryLimitExceeded

if TYPE_CHECKING:
    from emulator.portal import Portal

log = logging.getLogger(__name__)
_JSON = "application/json; charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=None,
                    content_type=_JSON, headers=headers)


def request_params(request: Request) -> dict[str, Any]:
    """Query string, then a JSON or PHP-bracket form body on top of it."""
    params = php_form.parse_pairs(request.args.items(multi=True))
    raw = request.get_data(cache=True)
    if not raw:
        return params
    content_type = (request.mimetype or "").lower()
    if content_type == "application/json" or raw.lstrip()[:1] in (b"{", b"["):
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise RestError("INVALID_REQUEST", "Request body is not valid JSON", 400) from exc
        if isinstance(body, dict):
            params.update(body)
        return params
    params.update(php_form.parse_pairs(request.form.items(multi=True)))
    return params


class PortalApp:
    """WSGI callable; ``portal.wsgi_app`` is one of these."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request, environ)
        return response(environ, start_response)

    def dispatch(self, request: Request, environ: dict[str, Any]) -> Response:
        path = request.path
        if path.startswith("/rest/api/"):
            return self.rest_v3(request, environ, path[len("/rest/api/"):])
        if path.startswith("/rest/"):
            return self.rest(request, environ, path[len("/rest/"):])
        if path.rstrip("/") == "/oauth/token":
            return self.oauth(request)
        if path.startswith("/_emulator/"):
            return self.portal.control.handle(request, path[len("/_emulator/"):])
        if path == "/":
            return json_response({"emulator": "bitrix24", "rest": self.portal.client_endpoint})
        return json_response(envelope.error("NOT_FOUND", "Not found"), 404)

    # REST -------------------------------------------------------------------
    def rest(self, request: Request, environ: dict[str, Any], tail: str) -> Response:
        parts = [p for p in tail.split("/") if p]
        method = parts[-1] if parts else ""
        for suffix in (".json", ".xml"):
            if method.lower().endswith(suffix):
                method = method[: -len(suffix)]
        fault = self.portal.faults.pick(method, request.full_path.rstrip("?"))
        if self.portal.faults.settings.delay:
            time.sleep(self.portal.faults.settings.delay)
        if fault is not None:
            return self._fault(fault, environ)
        try:
            if self.portal.limit_settings.enabled:
                self.portal.bucket.take()
            params = request_params(request)
            if len(parts) == 3:
                ctx = self.portal.rest.webhook_context(parts[0], parts[1])
            elif len(parts) == 1:
                token = params.pop("auth", None) or request.headers.get("X-Auth-Token")
                connector = str(params.get("auth_connector", "") or "")
                ctx = self.portal.rest.oauth_context(token, connector)
            else:
                raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        except RestError as exc:
            self._log_refused(method, exc)
            return json_response(envelope.error(exc.code, exc.description), exc.status)
        if len(parts) == 3:
            params.pop("auth", None)
        outcome = self.portal.rest.call(ctx, method, params)
        return json_response(outcome.body, outcome.status)

    def rest_v3(self, request: Request, environ: dict[str, Any], tail: str) -> Response:
        """REST 3.0; faults apply to it as to the classic API."""
        method = tail.rstrip("/").rsplit("/", 1)[-1]
        fault = self.portal.faults.pick(method, request.full_path.rstrip("?"))
        if self.portal.faults.settings.delay:
            time.sleep(self.portal.faults.settings.delay)
        if fault is not None:
            return self._fault(fault, environ)
        return self.portal.rest_v3.handle(request, tail)

    def _log_refused(self, method: str, exc: RestError) -> None:
        self.portal.call_log.add(CallRecord(
            method=method, params={}, status=exc.status, auth_type=None, user_id=None,
            client_id=None, error=exc.code, started=time.time(), duration=0.0,
        ))

    def _fault(self, fault: Fault, environ: dict[str, Any]) -> Response:
        if fault.kind == "moved":
            return Response("", status=302, headers={"Location": fault.location or "/"})
        if fault.kind == "error503":
            error = QueryLimitExceeded()
            return json_response(envelope.error("OVERLOAD_LIMIT", error.description), 503)
        if fault.kind == "error500":
            return json_response(envelope.error("INTERNAL_SERVER_ERROR", "Internal error"), 500)
        sock = environ.get(SOCKET_KEY)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already gone: the point was to drop it
                sock.shutdown(socket.SHUT_RDWR)
        return Response(b"", status=500)

    # OAuth ------------------------------------------------------------------
    def oauth(self, request: Request) -> Response:
        params = {**request.args.to_dict(), **request.form.to_dict()}
        try:
            return json_response(self.portal.installer.refresh_tokens(params))
        except OAuthError as exc:
            return json_response(envelope.error(exc.code, exc.description), exc.status)

"""REST 3.0: ``/rest/api/[{user}/{code}/]{method}``, JSON POST only (``api-reference/rest-v3.md``).

Answers ``{"result": ..., "time": ...}`` or ``{"error": {"code", "message",
"validation"}}``; an ``Idempotency-Key`` header on a writing method stores a successful
answer for 24 h (portal clock) per app or webhook, user, method and key: the same key
with the same body answers it again with ``Idempotent-Replayed: true``, with another
body 422. Two requests with one key at the same moment may both run, as the docs say.
``batch`` takes a JSON array of ``{"method", "query"}`` and answers the results in order.

A portal made with ``Portal(rest_v3=False)`` has no REST 3.0: its classic REST takes
``/rest/api/...`` for a method it does not know and answers 404 ``ERROR_METHOD_NOT_FOUND``
in the classic error shape, whatever the method, body or credentials.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from emulator import envelope
from emulator.call_log import CallRecord, redact
from emulator.context import CallContext
from emulator.errors import AccessDenied, RestError
from emulator.limits import OperationTimeLimit

if TYPE_CHECKING:
    from emulator.portal import Portal

log = logging.getLogger(__name__)
PREFIX = "BITRIX_REST_V3_EXCEPTION_"
KEEP_FOR = 24 * 3600
_JSON = "application/json; charset=utf-8"


class V3Error(RestError):
    """A REST 3.0 error: ``code`` gets the ``BITRIX_REST_V3_EXCEPTION_`` prefix."""

    def __init__(self, code: str, message: str, status: int = 400,
                 validation: list[dict[str, str]] | None = None) -> None:
        super().__init__(PREFIX + code, message, status)
        self.validation = validation


def invalid(field: str, message: str) -> V3Error:
    return V3Error("VALIDATION_REQUESTVALIDATIONEXCEPTION", "Error validating request object",
                   400, [{"message": message, "field": field}])


def required(field: str) -> V3Error:
    return invalid(field, f"Required field `{field}` is not specified")


V3Handler = Callable[["Portal", CallContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class V3Method:
    handler: V3Handler
    scopes: tuple[str, ...]
    writes: bool


@dataclass
class Stored:
    digest: str
    body: dict[str, Any]
    at: float


def _error_body(exc: RestError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.description}
    if isinstance(exc, V3Error) and exc.validation:
        error["validation"] = exc.validation
    return {"error": error}


def _as_v3(exc: RestError) -> RestError:
    """A classic error raised by a shared service, in REST 3.0 terms."""
    if isinstance(exc, V3Error) or exc.status in (401, 429, 503) or exc.code in (
            "ERROR_METHOD_NOT_FOUND",):
        return exc
    if isinstance(exc, AccessDenied) or exc.status == 403:
        return V3Error("ACCESSDENIEDEXCEPTION", exc.description or "Access denied", 403)
    return V3Error("VALIDATION_REQUESTVALIDATIONEXCEPTION", exc.description or exc.code, 400)


class RestV3:
    """The REST 3.0 entry point of one portal."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.methods: dict[str, V3Method] = {}

    def method(self, name: str, scopes: tuple[str, ...], writes: bool
               ) -> Callable[[V3Handler], V3Handler]:
        def register(handler: V3Handler) -> V3Handler:
            self.methods[name.lower()] = V3Method(handler, scopes, writes)
            return handler
        return register

    # HTTP ---------------------------------------------------------------------
    def handle(self, request: Request, tail: str) -> Response:
        parts = [p for p in tail.split("/") if p]
        name = parts[-1] if parts else ""
        if name.lower().endswith(".json"):
            name = name[:-5]
        if not self.portal.offers_rest_v3:
            return self._not_offered(request, name)
        started = time.time()
        ctx: CallContext | None = None
        headers: dict[str, str] = {}
        try:
            if self.portal.limit_settings.enabled:
                self.portal.bucket.take()
            body = self._body(request)
            ctx = self._context(request, parts, body)
            status, answer, headers = self._dispatch(ctx, name, body, request.headers)
        except RestError as exc:
            status, answer = exc.status, _error_body(_as_v3(exc))
        except Exception as exc:  # a handler bug answers like a portal's 500, and is seen
            log.exception("emulator REST 3.0 method %s failed", name)
            status = 500
            answer = {"error": {"code": "INTERNAL_SERVER_ERROR",
                                "message": f"{type(exc).__name__}: {exc}"}}
        self._log(name, ctx, status, answer, started, request)
        return Response(json.dumps(answer, ensure_ascii=False), status=status,
                        content_type=_JSON, headers=headers)

    def _not_offered(self, request: Request, name: str) -> Response:
        """What a portal without REST 3.0 answers: the classic router's unknown method."""
        started = time.time()
        status = 404
        answer = envelope.error("ERROR_METHOD_NOT_FOUND", "Method not found!")
        try:
            if self.portal.limit_settings.enabled:
                self.portal.bucket.take()  # the request still reached the portal
        except RestError as exc:
            status, answer = exc.status, envelope.error(exc.code, exc.description)
        self._log(name, None, status, answer, started, request)
        return Response(json.dumps(answer, ensure_ascii=False), status=status,
                        content_type=_JSON)

    def _body(self, request: Request) -> Any:
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        if (request.mimetype or "").lower() != "application/json":
            raise V3Error("INVALIDJSONEXCEPTION", "The request body is not valid JSON")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise V3Error("INVALIDJSONEXCEPTION", "The request body is not valid JSON") from exc
        if not isinstance(body, dict | list):
            raise V3Error("INVALIDJSONEXCEPTION", "The request body is not valid JSON")
        return body

    def _context(self, request: Request, parts: list[str], body: Any) -> CallContext:
        if len(parts) == 3:
            if isinstance(body, dict):
                body.pop("auth", None)
            return self.portal.rest.webhook_context(parts[0], parts[1])
        if len(parts) != 1:
            raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found", 404)
        token = body.pop("auth", None) if isinstance(body, dict) else None
        bearer = request.headers.get("Authorization", "")
        if not token and bearer.lower().startswith("bearer "):
            token = bearer[7:].strip()
        token = token or request.headers.get("X-Auth-Token")
        return self.portal.rest.oauth_context(token)

    def _dispatch(self, ctx: CallContext, name: str, body: Any,
                  headers: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        if name.lower() == "batch":
            return 200, self._batch(ctx, body), {}
        if not isinstance(body, dict):
            raise invalid("", "The request body must be a JSON object")
        method = self._method(ctx, name)
        key = headers.get("Idempotency-Key") if method.writes else None
        if key is None:
            return 200, self._run(ctx, name, method, body), {}
        if not 1 <= len(key) <= 255 or any(not 32 <= ord(c) <= 126 for c in key):
            raise V3Error("INVALIDIDEMPOTENCYKEYEXCEPTION",
                          "The Idempotency-Key must be 1 to 255 printable ASCII characters")
        echo = {"Idempotency-Key": key}
        slot = (ctx.client_id or f"webhook:{ctx.user_id}", str(ctx.user_id), name.lower(), key)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        now = self.portal.clock.now()
        with self.portal.state.lock:
            stored = self.portal.state.idempotent.get(slot)
            if stored is not None and stored.at + KEEP_FOR <= now:
                stored = None
        if stored is not None:
            if stored.digest != digest:
                raise V3Error("IDEMPOTENCYKEYREUSEDEXCEPTION",
                              "The Idempotency-Key was already used with another request body",
                              422)
            return 200, stored.body, {**echo, "Idempotent-Replayed": "true"}
        answer = self._run(ctx, name, method, body)
        with self.portal.state.lock:
            self.portal.state.idempotent[slot] = Stored(digest, answer, now)
        return 200, answer, echo

    def _method(self, ctx: CallContext, name: str) -> V3Method:
        method = self.methods.get(name.lower())
        if method is None:
            raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found", 404)
        if ctx.is_app and not set(method.scopes) & set(ctx.scope):
            raise V3Error("INSUFFICIENTSCOPEEXCEPTION",
                          "The application does not have the required scope", 403)
        return method

    def _run(self, ctx: CallContext, name: str, method: V3Method,
             params: dict[str, Any]) -> dict[str, Any]:
        budget_key = (ctx.client_id or f"webhook:{ctx.user_id}", name.lower())
        if self.portal.limit_settings.enabled:
            try:
                self.portal.operating.check(budget_key)
            except OperationTimeLimit as exc:
                raise V3Error("OPERATIONTIMELIMITEXCEPTION", exc.description, 429) from exc
        portal_start = self.portal.clock.now()
        tick = time.perf_counter()
        try:
            result = method.handler(self.portal, ctx, params)
        except RestError as exc:
            raise _as_v3(exc) from exc
        processing = time.perf_counter() - tick
        timing = envelope.Timing(portal_start, portal_start + processing, processing)
        timing.operating, timing.operating_reset_at = self.portal.operating.record(
            budget_key, processing)
        return {"result": result, "time": timing.render(self.portal.clock)}

    def _batch(self, ctx: CallContext, body: Any) -> dict[str, Any]:
        if not isinstance(body, list):
            raise V3Error("INVALIDSELECTEXCEPTION",
                          "A REST 3.0 batch is a JSON array of {method, query}")
        results: list[Any] = []
        started = self.portal.clock.now()
        for entry in body:
            if not isinstance(entry, dict) or not isinstance(entry.get("method"), str):
                raise V3Error("INVALIDSELECTEXCEPTION", "Each batch entry needs a method")
            query = entry.get("query") or {}
            if not isinstance(query, dict) or entry["method"].lower() == "batch":
                raise V3Error("INVALIDSELECTEXCEPTION", "Wrong batch entry")
            method = self._method(ctx, entry["method"])
            results.append(self._run(ctx, entry["method"], method, dict(query))["result"])
        now = self.portal.clock.now()
        timing = envelope.Timing(started, now, now - started)
        return {"result": results, "time": timing.render(self.portal.clock)}

    def _log(self, name: str, ctx: CallContext | None, status: int, answer: dict[str, Any],
             started: float, request: Request) -> None:
        raw = request.get_data(cache=True)
        try:
            params = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            params = {}
        error = answer.get("error") if status >= 400 else None
        if isinstance(error, dict):  # the REST 3.0 shape; the classic one is a string
            error = error.get("code")
        self.portal.call_log.add(CallRecord(
            method=name, params=redact(params if isinstance(params, dict) else
                                       {"batch": params}),
            status=status, auth_type=ctx.auth_type if ctx else None,
            user_id=ctx.user_id if ctx else None, client_id=ctx.client_id if ctx else None,
            error=error, started=started, duration=time.time() - started, api="v3",
        ))

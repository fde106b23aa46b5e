"""Runs one REST method for an authenticated caller: checks, handler, envelope, call log."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator import envelope
from emulator.call_log import CallRecord, redact
from emulator.context import CallContext
from emulator.errors import RestError, WrongAuthType
from emulator.limits import OperationTimeLimit
from emulator.registry import Paged

if TYPE_CHECKING:
    from emulator.portal import Portal

log = logging.getLogger(__name__)
ALL_SCOPES = ("crm", "task", "tasks", "user", "user_brief", "user_basic", "placement",
              "department", "bizproc")


@dataclass
class Outcome:
    """What a method produced: the HTTP status and body, plus the parts batch reuses."""

    status: int
    body: dict[str, Any]
    result: Any = None
    total: int | None = None
    next: int | None = None
    time: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class RestExecutor:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def webhook_context(self, user_id: str, code: str) -> CallContext:
        owner = self.portal.state.webhooks.get(code)
        if owner is None or str(owner) != user_id:
            raise RestError("INVALID_CREDENTIALS", "Invalid request credentials", 401)
        return CallContext(user_id=owner, auth_type="webhook", scope=ALL_SCOPES)

    def oauth_context(self, token: Any, connector: str = "") -> CallContext:
        if not token:
            raise RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)
        grant = self.portal.tokens.authenticate(str(token))
        app = self.portal.state.apps.get(grant.client_id)
        if app is None or not app.installed:
            raise RestError("invalid_token", "Unable to get application by token", 401)
        return CallContext(user_id=grant.user_id, auth_type="oauth", client_id=app.client_id,
                           scope=tuple(app.scope), auth_connector=connector)

    def call(self, ctx: CallContext, method_name: str, params: dict[str, Any],
             in_batch: bool = False) -> Outcome:
        started = time.time()
        clock = self.portal.clock
        portal_start = clock.now()
        try:
            outcome = self._run(ctx, method_name, params, portal_start)
        except OperationTimeLimit as exc:
            body = envelope.error(exc.code, exc.description)
            now = clock.now()
            body["time"] = envelope.Timing(now, now, 0.0, 0.0, exc.reset_at).render(clock)
            outcome = Outcome(exc.status, body, error=body)
        except RestError as exc:
            body = envelope.error(exc.code, exc.description)
            outcome = Outcome(exc.status, body, error=body)
        except Exception as exc:  # a handler bug must answer like a portal's 500, and be seen
            log.exception("emulator method %s failed", method_name)
            body = envelope.error("INTERNAL_SERVER_ERROR", f"{type(exc).__name__}: {exc}")
            outcome = Outcome(500, body, error=body)
        self.portal.call_log.add(CallRecord(
            method=method_name, params=redact(params), status=outcome.status,
            auth_type=ctx.auth_type, user_id=ctx.user_id, client_id=ctx.client_id,
            error=outcome.error["error"] if outcome.error else None, started=started,
            duration=time.time() - started, in_batch=in_batch,
        ))
        return outcome

    def _run(self, ctx: CallContext, method_name: str, params: dict[str, Any],
             portal_start: float) -> Outcome:
        method = self.portal.registry.find(method_name)
        if method is None:
            raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        if method.app_only and not ctx.is_app:
            raise WrongAuthType()
        if method.scope and ctx.is_app and method.scope not in ctx.scope:
            raise RestError("insufficient_scope",
                            "The request requires higher privileges than provided by the "
                            "access token", 403)
        budget_key = (ctx.client_id or f"webhook:{ctx.user_id}", method.name.lower())
        limits_on = self.portal.limit_settings.enabled
        if limits_on:
            self.portal.operating.check(budget_key)
        tick = time.perf_counter()
        result = method.handler(self.portal, ctx, params)
        processing = time.perf_counter() - tick
        timing = envelope.Timing(portal_start, portal_start + processing, processing)
        timing.operating, timing.operating_reset_at = self.portal.operating.record(
            budget_key, processing)
        total = following = None
        if isinstance(result, Paged):
            result, total, following = result.items, result.total, result.next
        rendered_time = timing.render(self.portal.clock)
        body = envelope.success(result, timing, self.portal.clock, total, following)
        return Outcome(200, body, result, total, following, rendered_time)


"""`PortalClient`: every REST call TaskBridge makes to a portal goes through one of these.

    client = PortalClient.for_portal(storage, settings, member_id)   # installed app
    client = PortalClient.for_webhook(url, settings)                 # incoming webhook
    client.call(method, params, write=None) -> RestResult
    client.batch({key: (method, params)}, halt=False) -> BatchResult
    client.list_all(method, params, id_field="ID") -> Iterator[dict]
    client.call_v3(method, params, idempotency_key=None) -> V3Result    # /rest/api/

One attempt = check the method is not paused ▸ take a slot from the portal's rate budget ▸
POST ▸ (401 expired_token: refresh once, single-flight, and repeat) ▸ (302: record the new
address and repeat there). `retry_policy` decides whether a failed attempt is repeated;
a write that may have run surfaces as `OutcomeUnknown`. Each call leaves a `CallRecord`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from connector.redaction import redact
from connector.rest import paging
from connector.rest.auth import AppAuth, Target, WebhookAuth, endpoint_of
from connector.rest.batch import MAX_COMMANDS, BatchResult, chunks, encode_command, merge_chunk
from connector.rest.call_log import CallRecord, CallRecorder, OnCall
from connector.rest.errors import (
    BitrixError,
    ExpiredToken,
    OperationTimeLimit,
    OutcomeUnknown,
    PortalMoved,
    QueryLimitExceeded,
    ServerError,
    TransportError,
)
from connector.rest.method_kinds import is_idempotent, is_write
from connector.rest.method_pauses import MethodPauses
from connector.rest.rate_budget import DatabaseRateBudget, MemoryRateBudget, RateBudget
from connector.rest.retry_policy import RetryPolicy
from connector.rest.transport import Answer, RestTransport
from connector.settings import Settings
from connector.storage.engines import Storage

Auth = AppAuth | WebhookAuth
_MEMORY_BUDGETS: dict[str, MemoryRateBudget] = {}
_MEMORY_PAUSES: dict[str, MethodPauses] = {}
_SHARED_LOCK = threading.Lock()


@dataclass(frozen=True)
class RestResult:
    result: Any
    total: int | None = None
    next: int | None = None
    time: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RestResult:
        total, following = body.get("total"), body.get("next")
        return cls(
            result=body.get("result"),
            total=int(total) if total is not None else None,
            next=int(following) if following is not None else None,
            time=body.get("time") or {},
        )


@dataclass(frozen=True)
class V3Result:
    """A REST 3.0 answer: its `result`, and whether the portal replayed a stored answer to
    the same `Idempotency-Key` instead of running the method again."""

    result: Any
    replayed: bool = False


@dataclass(frozen=True)
class _Call:
    """How one request is addressed: the REST version and the extra headers it carries."""

    v3: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Tally:
    """What one call did over its attempts, for its record."""

    requests: int = 0
    attempts: int = 0
    http_status: int | None = None
    limited: list[int] = field(default_factory=list)  # 503/429 answers, retried or not


class PortalClient:
    def __init__(
        self,
        auth: Auth,
        *,
        budget: RateBudget,
        pauses: MethodPauses,
        transport: RestTransport,
        policy: RetryPolicy | None = None,
        on_call: OnCall | None = None,
    ) -> None:
        self.auth = auth
        self.budget = budget
        self.pauses = pauses
        self.transport = transport
        self.policy = policy or RetryPolicy()
        self.recorder = CallRecorder(on_call)

    # construction ---------------------------------------------------------------------
    @classmethod
    def for_portal(
        cls, storage: Storage, settings: Settings, member_id: str, *,
        policy: RetryPolicy | None = None, on_call: OnCall | None = None,
        session: requests.Session | None = None,
    ) -> PortalClient:
        """An installed app's client: tokens, endpoint and rate plan from storage."""
        portal = storage.portals.get(member_id)
        auth: Auth
        if portal.auth_mode == "webhook" and portal.webhook_url:
            auth = WebhookAuth(portal.webhook_url, portal_key=member_id,
                               allow_insecure=settings.allow_insecure_portals)
        else:
            auth = AppAuth(storage, settings, member_id, session)
        return cls(
            auth,
            budget=DatabaseRateBudget(storage.engine, member_id, portal.rate_drain,
                                      portal.rate_burst),
            pauses=MethodPauses(member_id, storage.engine),
            transport=RestTransport(settings.http_timeout, session),
            policy=policy, on_call=on_call,
        )

    @classmethod
    def for_webhook(
        cls, url: str, settings: Settings | None = None, *, drain: float = 2.0,
        burst: int = 50, policy: RetryPolicy | None = None, on_call: OnCall | None = None,
        session: requests.Session | None = None,
    ) -> PortalClient:
        """An incoming-webhook client; its budget is shared by this process's clients."""
        auth = WebhookAuth(url, allow_insecure=bool(settings and settings.allow_insecure_portals))
        key = auth.portal_key
        with _SHARED_LOCK:
            budget = _MEMORY_BUDGETS.setdefault(key, MemoryRateBudget(drain, burst))
            pauses = _MEMORY_PAUSES.setdefault(key, MethodPauses(key))
        timeout = settings.http_timeout if settings else 30.0
        return cls(auth, budget=budget, pauses=pauses, policy=policy, on_call=on_call,
                   transport=RestTransport(timeout, session))

    @property
    def portal_key(self) -> str:
        return self.auth.portal_key

    @property
    def calls(self) -> list[CallRecord]:
        return self.recorder.records

    def close(self) -> None:
        self.transport.close()

    # the three verbs -------------------------------------------------------------------
    def call(
        self, method: str, params: Mapping[str, Any] | None = None, *,
        write: bool | None = None, idempotent: bool | None = None,
    ) -> RestResult:
        """One method. `write=None` infers it from the name (unknown names count as writes);
        an `idempotent` write may be repeated after an ambiguous failure."""
        writes = is_write(method) if write is None else write
        repeat_safe = is_idempotent(method) if idempotent is None else idempotent
        body = self._request(method, dict(params or {}), risky=writes and not repeat_safe,
                             shown=params or {}).body
        return RestResult.from_body(body)

    def call_v3(self, method: str, params: Mapping[str, Any] | None = None, *,
                idempotency_key: str | None = None) -> V3Result:
        """One REST 3.0 method (`/rest/api/`). A write with an `idempotency_key` is safe to
        repeat: the portal answers a repeat with the first call's stored answer."""
        how = _Call(v3=True, headers={"Idempotency-Key": idempotency_key}
                    if idempotency_key else {})
        answer = self._request(method, dict(params or {}),
                               risky=is_write(method) and not idempotency_key,
                               shown=params or {}, how=how)
        replayed = str(answer.headers.get("Idempotent-Replayed", "")).lower() == "true"
        return V3Result(answer.body.get("result"), replayed=replayed)

    def batch(
        self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *, halt: bool = False
    ) -> BatchResult:
        """Any number of commands, 50 per request; outcomes mapped back to your keys."""
        outcome = BatchResult()
        methods = {str(key): method for key, (method, _params) in commands.items()}
        params = {str(key): p for key, (_method, p) in commands.items()}
        for keys in chunks(methods, MAX_COMMANDS):
            cmd = {key: encode_command(methods[key], params[key]) for key in keys}
            risky = any(is_write(methods[k]) and not is_idempotent(methods[k]) for k in keys)
            shown = {"halt": int(halt), "cmd": {k: methods[k] for k in keys}}
            body = self._request("batch", {"halt": int(halt), "cmd": cmd}, risky=risky,
                                 shown=shown).body
            outcome.requests += 1
            merge_chunk(outcome, body.get("result"), keys, methods)
            if halt and outcome.errors:
                done = set(outcome.results) | set(outcome.errors) | set(outcome.skipped)
                outcome.skipped.extend(k for k in methods if k not in done)
                break
        return outcome

    def list_all(
        self, method: str, params: Mapping[str, Any] | None = None, *,
        id_field: str = "ID", page_key: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list method, in ID order, in the fewest requests (a generator)."""
        return paging.iterate(self, method, params, id_field=id_field, page_key=page_key)

    # one call, with its retries ------------------------------------------------------
    def _request(
        self, method: str, payload: dict[str, Any], *, risky: bool, shown: Mapping[str, Any],
        how: _Call = _Call(),
    ) -> Answer:
        tally = _Tally()
        started = time.monotonic()
        error: BitrixError | None = None
        try:
            return self.policy.run(
                lambda: self._attempt(method, payload, tally, how), is_write=risky,
                label=f"{method} on {self.portal_key}",
            )
        except BitrixError as exc:
            error = _surface(exc, risky)
            if error is exc:
                raise
            raise error from exc
        finally:
            self.recorder.add(CallRecord(
                portal=self.portal_key, method=method, duration=time.monotonic() - started,
                http_status=error.http_status if error else tally.http_status,
                error_code=(error.code or type(error).__name__) if error else None,
                retries=max(0, tally.attempts - 1), params=redact(dict(shown)),
                requests=tally.requests, limited=tuple(tally.limited),
            ))

    def _attempt(self, method: str, payload: dict[str, Any], tally: _Tally,
                 how: _Call) -> Answer:
        tally.attempts += 1
        self.pauses.check(method)
        target = self.auth.target(method)
        try:
            return self._send(target, method, payload, tally, how)
        except ExpiredToken:
            self.auth.renew(target, method)
            return self._send(self.auth.target(method), method, payload, tally, how)

    def _send(
        self, target: Target, method: str, payload: dict[str, Any], tally: _Tally,
        how: _Call,
    ) -> Answer:
        body = {**payload, "auth": target.access_token} if target.access_token else payload
        try:
            answer = self._post(_url(target, method, how), body, method, tally, how)
        except PortalMoved as moved:
            # The portal answered before running anything: repeat at the new address.
            self.auth.moved(endpoint_of(moved.location))
            target = self.auth.target(method)
            body = {**payload, "auth": target.access_token} if target.access_token else payload
            try:
                answer = self._post(_url(target, method, how), body, method, tally, how)
            except PortalMoved:
                raise TransportError("redirected again from the new address", method=method,
                                     maybe_delivered=False) from None
        return answer

    def _post(self, url: str, body: dict[str, Any], method: str, tally: _Tally,
              how: _Call) -> Answer:
        self.budget.acquire()
        tally.requests += 1
        try:
            answer = self.transport.post(url, body, method=method, headers=how.headers)
        except QueryLimitExceeded as exc:
            tally.http_status = exc.http_status
            tally.limited.append(exc.http_status or 503)
            self.budget.saturate()
            raise
        except OperationTimeLimit as exc:
            tally.http_status = exc.http_status
            tally.limited.append(exc.http_status or 429)
            self.pauses.pause(method, exc.reset_at)
            raise
        except BitrixError as exc:
            tally.http_status = exc.http_status
            if exc.http_status in (503, 429):
                tally.limited.append(exc.http_status)
            raise
        tally.http_status = answer.status
        return answer


def _url(target: Target, method: str, how: _Call) -> str:
    """The method's address; REST 3.0 methods live under `/rest/api/` (`.../rest/api/1/
    code/` for an incoming webhook)."""
    url = target.url(method)
    return url.replace("/rest/", "/rest/api/", 1) if how.v3 else url


def _surface(error: BitrixError, risky: bool) -> BitrixError:
    """What the caller sees: a write that may have run becomes `OutcomeUnknown`."""
    ambiguous = isinstance(error, ServerError) or (
        isinstance(error, TransportError) and error.maybe_delivered
    )
    if risky and ambiguous:
        return OutcomeUnknown(
            f"the portal may have run it: {error.description}", method=error.method,
            http_status=error.http_status, code=error.code or "OUTCOME_UNKNOWN",
        )
    return error

"""`GET /metrics`: Prometheus text, read from the database (right under many workers).

The series name portals (member ids), so they are not for the world: with
`TASKBRIDGE_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`; unset,
only loopback callers may read them. A scrape must stay cheap: it reads the counter table
and a few index lookups (`connector.observability.metrics`), never the journal in full."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Request, Response, current_app, request

from connector.observability import metrics as metrics_source
from webhooks import answers
from webhooks.errors import MetricsRefused

blueprint = answers.register(Blueprint("metrics", __name__))

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@blueprint.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    expected = current_app.extensions["taskbridge.settings"].metrics_token.get_secret_value()
    if expected:
        if not _bearer_matches(request, expected):
            raise MetricsRefused(401, "metrics_token_required",
                                 "Send Authorization: Bearer <TASKBRIDGE_METRICS_TOKEN>.",
                                 headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not _is_loopback(request.remote_addr):
        raise MetricsRefused(403, "metrics_loopback_only",
                             "Without TASKBRIDGE_METRICS_TOKEN set, /metrics answers loopback "
                             "callers only.")
    engine = current_app.extensions["taskbridge.storage"].engine
    return Response(metrics_source.render(metrics_source.collect(engine)),
                    content_type=CONTENT_TYPE)


def _bearer_matches(req: Request, expected: str) -> bool:
    scheme, _, candidate = req.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        candidate.strip().encode(), expected.encode())


def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)

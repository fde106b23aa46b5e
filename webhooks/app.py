"""The Flask app factory: wires storage and settings, then one blueprint per surface."""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from connector.observability.logging_setup import configure_logging
from connector.settings import Settings, load_settings
from connector.storage.engines import Storage, open_storage
from connector.sync.intake import EventIntake
from webhooks import (
    admin,
    answers,
    correlation,
    events,
    health,
    install,
    metrics,
    placement,
    placement_tabs,
    robots,
    task_api,
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def create_app(settings: Settings | None = None, storage: Storage | None = None) -> Flask:
    """Build the TaskBridge web app; tests pass their own settings (and storage)."""
    settings = settings or load_settings()
    storage = storage or open_storage(settings)
    configure_logging(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_event_body
    app.extensions["taskbridge.settings"] = settings
    app.extensions["taskbridge.storage"] = storage
    app.extensions["taskbridge.intake"] = EventIntake(storage, settings)
    answers.init_app(app)
    app.before_request(_correlation_id)
    app.after_request(_echo_correlation_id)
    correlation.init_app(app)
    for surface in (install, events, health, placement, placement_tabs, robots, task_api,
                    metrics):
        app.register_blueprint(surface.blueprint)
    admin.init_app(app)
    if settings.trust_proxy:
        # Behind a TLS-terminating proxy: its X-Forwarded-Proto makes `request.is_secure`
        # (so cookies are Secure) and X-Forwarded-For the client address the throttles key
        # on. Unset, those headers are anybody's to forge, so they are ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    return app


def _correlation_id() -> None:
    """One id ties a request to its journal row and every REST call it causes."""
    given = request.headers.get("X-Request-ID", "")
    g.correlation_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _echo_correlation_id(response):  # type: ignore[no-untyped-def]
    response.headers["X-Request-ID"] = g.get("correlation_id", "")
    return response

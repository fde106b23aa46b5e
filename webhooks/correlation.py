"""Every log line of a request carries its correlation id (`g.correlation_id`, set by the
app factory), through the contextvar in `connector.observability.logging_setup`."""

from __future__ import annotations

import contextlib

from flask import Flask, g

from connector.observability.logging_setup import bind_correlation, unbind_correlation


def init_app(app: Flask) -> None:
    """Register after the factory's own `_correlation_id` so `g.correlation_id` exists."""

    @app.before_request
    def _bind() -> None:
        g._correlation_token = bind_correlation(g.get("correlation_id"))

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        token = g.pop("_correlation_token", None)
        if token is not None:
            # A token made in another context (streamed responses copy it) cannot reset.
            with contextlib.suppress(ValueError):
                unbind_correlation(token)

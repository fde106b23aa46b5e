"""`GET /metrics`: Prometheus text, read from the database (right under many workers).

Open without auth, so a scrape must stay cheap: it reads the counter table and a few
index lookups (`connector.metrics_source`), never the journal in full."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from connector import metrics_source

blueprint = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@blueprint.get("/metrics")
def metrics() -> Response:
    engine = current_app.extensions["taskbridge.storage"].engine
    return Response(metrics_source.render(metrics_source.collect(engine)),
                    content_type=CONTENT_TYPE)

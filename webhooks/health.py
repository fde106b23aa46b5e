"""Liveness and readiness: `/healthz` answers while the process runs, `/readyz` checks
the database, the schema revision and the journal."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from connector.storage import engines

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    engine = current_app.extensions["taskbridge.storage"].engine
    try:
        current, depth = engines.readiness(engine)
    except engines.DatabaseUnavailable as exc:
        return jsonify(status="error", database="unreachable", error=exc.reason), 503
    head = engines.head_revision()
    body = {
        "status": "ok" if current == head else "error",
        "database": "ok",
        "schema": {"current": current, "expected": head},
        "journal_depth": depth,
    }
    return jsonify(body), 200 if current == head else 503

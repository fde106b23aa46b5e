"""`POST /bitrix/events`: verify ▸ parse ▸ journal ▸ 200. No REST call on this path."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from webhooks import answers
from webhooks.request_body import read_body

blueprint = answers.register(Blueprint("events", __name__))


@blueprint.post("/bitrix/events")
def receive():  # type: ignore[no-untyped-def]
    body = read_body(request)
    accepted = current_app.extensions["taskbridge.intake"].accept(
        body, correlation_id=g.correlation_id
    )
    response = jsonify(status="ok")
    response.headers["X-TaskBridge-Journal-Id"] = str(accepted.recorded.id)
    return response

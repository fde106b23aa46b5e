"""`POST /bitrix/robots`: a call of one of TaskBridge's automation rules (robots).

The portal's queue server POSTs the rule's form when a deal or lead reaches a stage that
runs it. Verify ▸ parse ▸ journal ▸ 200, like events: the stored application token,
compared in constant time, says the call came from an installed portal; the worker
carries it out and answers the workflow with `bizproc.event.send`. No REST call here.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from mappers.robot_calls import RobotCallError
from webhooks import answers
from webhooks.errors import WebhookError
from webhooks.request_body import read_body

blueprint = answers.register(Blueprint("robots", __name__))


@blueprint.post("/bitrix/robots")
def receive():  # type: ignore[no-untyped-def]
    body = read_body(request)
    try:
        _call, recorded = current_app.extensions["taskbridge.intake"].accept_robot(
            body, correlation_id=g.correlation_id)
    except RobotCallError as exc:
        raise WebhookError(400, "invalid_robot_call", str(exc), field=exc.field) from exc
    response = jsonify(status="ok")
    response.headers["X-TaskBridge-Journal-Id"] = str(recorded.id)
    return response

"""JSON answers and the one place that maps errors to HTTP statuses.

Views raise a `webhooks.errors.WebhookError`; each blueprint registers `refusal` for it
(`register`). Errors of `connector/` and `mappers/` that reach the app get their status
here, once."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, jsonify
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException

from connector.errors import InvalidApplicationToken, PortalUninstalled
from connector.portals.install import InstallRefused
from connector.rest.endpoint_policy import InsecurePortal
from connector.rest.errors import BitrixError
from connector.sync.task_creation import TaskNotCreated
from mappers.errors import ValidationError
from webhooks.errors import WebhookError

log = logging.getLogger(__name__)


def error(status: int, code: str, description: str = "") -> tuple[Response, int]:
    body = {"status": "error", "error": code}
    if description:
        body["error_description"] = description
    return jsonify(body), status


def portal_refusal_status(exc: BitrixError | TaskNotCreated) -> int:
    """422 when the portal refused what the sender asked for (a user it does not know, a
    bad argument); 502 when the portal itself failed or could not be reached."""
    return 422 if exc.refused_input else 502


def refusal(exc: WebhookError) -> Response:
    """The JSON answer to a refusal: its status, body and headers."""
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


def register(blueprint: Blueprint) -> Blueprint:
    """A JSON blueprint's one error handler: every refusal its views raise."""
    blueprint.register_error_handler(WebhookError, refusal)
    return blueprint


def init_app(app: Flask) -> None:
    # Refusals raised outside any blueprint's views (before a route matched).
    app.register_error_handler(WebhookError, refusal)

    @app.errorhandler(ValidationError)
    def _invalid(exc: ValidationError):  # type: ignore[no-untyped-def]
        return error(400, "invalid_event", str(exc))

    @app.errorhandler(InvalidApplicationToken)
    def _token(exc: InvalidApplicationToken):  # type: ignore[no-untyped-def]
        return error(401, "invalid_application_token")

    @app.errorhandler(PortalUninstalled)
    def _gone(exc: PortalUninstalled):  # type: ignore[no-untyped-def]
        return error(410, "portal_uninstalled")

    @app.errorhandler(InstallRefused)
    def _refused(exc: InstallRefused):  # type: ignore[no-untyped-def]
        return error(403, "install_refused", str(exc))

    @app.errorhandler(InsecurePortal)
    def _insecure(exc: InsecurePortal):  # type: ignore[no-untyped-def]
        return error(403, "insecure_portal", str(exc))

    @app.errorhandler(ParseException)
    @app.errorhandler(NoMoreData)
    def _unreadable(exc: Exception):  # type: ignore[no-untyped-def]
        # gunicorn raises these while the body is read: broken chunked framing, a body
        # cut short. The sender's fault, whichever view was reading.
        return error(400, "unreadable_body", "the request body is not validly framed")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "_")
        return error(exc.code or 500, code, exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        # The traceback goes to the log; the sender learns nothing about internals.
        log.exception("unexpected error while handling a request")
        return error(500, "internal_error")

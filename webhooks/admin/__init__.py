"""The admin surface under `/admin/`: sync log, event detail, item page, replay, export,
portal settings and reading a portal's tasks again, sign-in. Views are thin: read the
request, call `connector/`, render."""

from __future__ import annotations

from flask import Blueprint, Flask

from webhooks.admin import backfill_views, log_views, login_views, settings_views
from webhooks.admin.framing import add_frame_headers
from webhooks.admin.names import NameCache
from webhooks.admin.pages import handle_refusal, resolve_viewer
from webhooks.errors import WebhookError


def init_app(app: Flask) -> None:
    """Register a fresh admin blueprint (one per app: tests build many apps)."""
    blueprint = Blueprint("admin", __name__, url_prefix="/admin")
    for module in (login_views, log_views, settings_views, backfill_views):
        module.attach(blueprint)
    blueprint.before_request(resolve_viewer)
    blueprint.after_request(add_frame_headers)
    blueprint.register_error_handler(WebhookError, handle_refusal)
    app.register_blueprint(blueprint)
    app.extensions["taskbridge.admin_names"] = NameCache()

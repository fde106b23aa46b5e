"""The Flask app factory: wires storage and settings, then one blueprint per surface."""

from __future__ import annotations

from flask import Flask

from connector.settings import Settings, load_settings
from connector.storage import Storage, open_storage
from webhooks import health


def create_app(settings: Settings | None = None, storage: Storage | None = None) -> Flask:
    """Build the TaskBridge web app; tests pass their own settings (and storage)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_event_body
    app.extensions["taskbridge.settings"] = settings
    app.extensions["taskbridge.storage"] = storage or open_storage(settings)
    app.register_blueprint(health.blueprint)
    return app


def settings_of(app: Flask) -> Settings:
    return app.extensions["taskbridge.settings"]


def storage_of(app: Flask) -> Storage:
    return app.extensions["taskbridge.storage"]

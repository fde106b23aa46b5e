"""The baseline for bench/ingest.py: a Flask endpoint that only parses the event form."""

from __future__ import annotations

from flask import Flask, jsonify, request

from mappers.php_form import parse_urlencoded


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/bitrix/events")
    def events():  # type: ignore[no-untyped-def]
        parse_urlencoded(request.get_data())
        return jsonify(status="ok")

    return app

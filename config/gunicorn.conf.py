"""gunicorn settings for `web:` (Procfile) and `taskbridge web`; environment overrides."""

import json
import os

from gunicorn.glogging import Logger, SafeAtoms

bind = os.environ.get("TASKBRIDGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TASKBRIDGE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("TASKBRIDGE_WEB_THREADS", "4"))
# The receiver answers in milliseconds; a request that takes longer is stuck.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# One JSON object per request, like the app's own lines: the request id the app answers
# with (X-Request-ID) is the correlation id its journal row and the worker's log lines
# carry, and an event's journal row id comes with it. Never log query strings or bodies:
# install and placement requests carry tokens.
access_log_format = (
    '{"ts": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": "%(s)s", "bytes": "%(b)s", "duration_ms": %(M)s, '
    '"correlation_id": "%({x-request-id}o)s", "journal_id": "%({x-taskbridge-journal-id}o)s"}'
)
errorlog = "-"
loglevel = os.environ.get("TASKBRIDGE_LOG_LEVEL", "info").lower()
# Migrate once in the master before forking, not in every worker at the same time.
preload_app = True


class _JsonAtoms(SafeAtoms):
    """Access log values escaped for a JSON string (gunicorn's own escape is only `"`)."""

    def __init__(self, atoms):
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value


class JsonAccessLogger(Logger):
    atoms_wrapper_class = _JsonAtoms


logger_class = JsonAccessLogger


def post_fork(server, worker):
    """Each worker opens its own database connections, never the master's."""
    app = getattr(server.app, "callable", None)  # the app the master preloaded
    storage = getattr(app, "extensions", {}).get("taskbridge.storage")
    if storage is not None:
        storage.engine.dispose(close=False)

"""gunicorn settings for `web:` (Procfile) and `taskbridge web`; environment overrides."""

import os

bind = os.environ.get("TASKBRIDGE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TASKBRIDGE_WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("TASKBRIDGE_WEB_THREADS", "4"))
# The receiver answers in milliseconds; a request that takes longer is stuck.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
# Never log query strings or bodies: install and placement requests carry tokens.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("TASKBRIDGE_LOG_LEVEL", "info").lower()
# Migrate once in the master before forking, not in every worker at the same time.
preload_app = True


def post_fork(server, worker):
    """Each worker opens its own database connections, never the master's."""
    app = getattr(server.app, "callable", None)  # the app the master preloaded
    storage = getattr(app, "extensions", {}).get("taskbridge.storage")
    if storage is not None:
        storage.engine.dispose(close=False)

"""gunicorn settings of the rhythm service: one process, threads, the same HOST/PORT as the dev server.

One worker process on purpose: rhythm mode (its schedule thread and status), the error generator
client's queue and the metrics live in the process, so a second process would answer /api/status
and /metrics with its own, different state. Requests run on ``GUNICORN_THREADS`` threads
(default 8); inference is CPU-bound numpy or the card, so more processes would not help either.

The configuration is validated here first, so a bad variable stops gunicorn at once with its name
instead of failing every worker boot.

Example::

    gunicorn -c rhythm_service/gunicorn.conf.py rhythm_service.wsgi:app
"""

import os

from rhythm_service.config import ServiceConfig

_config = ServiceConfig.from_environ()

bind = f"{_config.host}:{_config.port}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 120  # a long /api/detect-beats upload must not be killed as a hung worker
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = _config.log_level.lower()

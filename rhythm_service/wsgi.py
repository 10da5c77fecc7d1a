"""The WSGI entry point for gunicorn: ``gunicorn -c rhythm_service/gunicorn.conf.py rhythm_service.wsgi:app``.

The application is built from the environment at import (in the worker, after the fork, so its
threads live in the process that serves). Run one worker process: rhythm mode's state is in it.
"""

from rhythm_service.app import create_app

app = create_app()

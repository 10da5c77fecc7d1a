"""``python -m rhythm_service``: the service in the foreground (Werkzeug's threaded server), for development.

Same configuration as under gunicorn (the environment, see ``rhythm_service.config``): HOST, PORT,
MODEL_DIR, INFERENCE_BACKEND... A bad setting exits with status 2 and a message naming the variable.

Example::

    MODEL_DIR=build/test-model/package/beat-model-<release> INFERENCE_BACKEND=cpu python -m rhythm_service
"""

from __future__ import annotations

import sys

from rhythm_service.backends.select import BackendUnavailable
from rhythm_service.config import ConfigError, ServiceConfig
from rhythm_service.model_package import ModelPackageError


def main() -> int:
    """Read the configuration, build the application and serve until interrupted; the exit status."""
    try:
        config = ServiceConfig.from_environ()
        from rhythm_service.app import close_app, create_app

        app = create_app(config)
    except (ConfigError, ModelPackageError, BackendUnavailable) as exc:
        print(f"rhythm_service: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        app.run(host=config.host, port=config.port, threaded=True, use_reloader=False)
    finally:
        close_app(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""WSGI entry point for gunicorn: ``backend.wsgi:app`` (started by ``python -m backend.serve``).

gunicorn imports it in each worker, before the worker serves. create_app returns a warm model (its
WARM_UP default, backend/config.py), so a model that is missing, altered or cannot run stops the
worker here, and gunicorn stops the server instead of restarting a worker that can never serve.
"""

import logging
import sys

from backend import create_app
from backend.config import server_from_env
from backend.observability import configure_logging
from ml.inference.artifact import ArtifactError

try:
    server = server_from_env()
    configure_logging(server["LOG_FORMAT"] or "json", server["LOG_LEVEL"])
    app = create_app()
except (ArtifactError, RuntimeError) as error:
    # One clear line instead of a traceback, and exit code 3, gunicorn's "worker failed to boot":
    # the master then stops instead of restarting the worker in a loop.
    logging.getLogger("backend").critical("cannot start: %s", error)
    sys.exit(3)

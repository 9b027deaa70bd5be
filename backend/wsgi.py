"""WSGI entry point for gunicorn: ``backend.wsgi:app`` (started by ``python -m backend.serve``)."""

import logging
import os
import sys

from backend import create_app
from backend.config import server_from_env
from backend.observability import configure_logging
from ml.inference.artifact import ArtifactError

try:
    configure_logging(os.environ.get("LOG_FORMAT", "json"), server_from_env()["LOG_LEVEL"])
    app = create_app()
except (ArtifactError, RuntimeError) as error:
    # One clear line instead of a traceback, and exit code 3, gunicorn's "worker failed to boot":
    # the master then stops instead of restarting the worker in a loop.
    logging.getLogger("backend").critical("cannot start: %s", error)
    sys.exit(3)

"""WSGI entry point for gunicorn: ``backend.wsgi:app``."""

import logging
import os
import sys

from backend import create_app
from backend.observability import configure_logging
from ml.artifact import ArtifactError

configure_logging(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "info"))
try:
    app = create_app()
except (ArtifactError, RuntimeError) as error:
    # One clear line instead of a traceback, and exit code 3, gunicorn's "worker failed to boot":
    # the master then stops instead of restarting the worker in a loop.
    logging.getLogger("backend").critical("cannot start: %s", error)
    sys.exit(3)

"""WSGI entry point for gunicorn: ``backend.wsgi:app``."""

import logging
import os
import sys

from backend.lazy_imports import defer

# Before anything imports scikit-learn, which (through SciPy) imports modules that serving never
# uses, for ~40 % of a worker's boot time: scipy.stats for its statistics helpers, and numpy.f2py
# and numpy.testing (with unittest) when SciPy copies NumPy's namespace. See lazy_imports.py.
for module in ("scipy.stats", "numpy.f2py", "numpy.testing"):
    defer(module)

from backend import create_app  # noqa: E402
from backend.observability import configure_logging  # noqa: E402
from ml.artifact import ArtifactError  # noqa: E402

configure_logging(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "info"))
try:
    app = create_app()
except (ArtifactError, RuntimeError) as error:
    # One clear line instead of a traceback, and exit code 3, gunicorn's "worker failed to boot":
    # the master then stops instead of restarting the worker in a loop.
    logging.getLogger("backend").critical("cannot start: %s", error)
    sys.exit(3)

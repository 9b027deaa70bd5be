"""Development server: ``python -m backend`` (debug off unless FLASK_DEBUG=1).
Production: ``python -m backend.serve`` (gunicorn)."""

import logging
import os

from backend import create_app
from backend.config import server_from_env
from backend.observability import configure_logging

if __name__ == "__main__":
    try:
        server = server_from_env()
    except RuntimeError as error:
        raise SystemExit(f"error: {error}") from None
    configure_logging(os.environ.get("LOG_FORMAT", "text"), server["LOG_LEVEL"])
    # werkzeug (this server's request lines) sets its logger to INFO unless it has a level already.
    logging.getLogger("werkzeug").setLevel(server["LOG_LEVEL"].upper())
    create_app().run(host=server["HOST"], port=server["PORT"], debug=os.environ.get("FLASK_DEBUG") == "1")

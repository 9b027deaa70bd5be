"""Development server: ``python -m backend`` (debug off unless FLASK_DEBUG=1).
Production: ``python -m backend.serve`` (gunicorn)."""

import logging
import os

from backend import create_app
from backend.config import server_from_env
from backend.observability import configure_logging
from ml.inference.artifact import ArtifactError

if __name__ == "__main__":
    try:
        server = server_from_env()
        configure_logging(server["LOG_FORMAT"] or "text", server["LOG_LEVEL"])
        # werkzeug (this server's request lines) sets its logger to INFO unless it has a level already.
        logging.getLogger("werkzeug").setLevel(server["LOG_LEVEL"].upper())
        app = create_app()
    except (ArtifactError, RuntimeError) as error:
        raise SystemExit(f"error: {error}") from None
    app.run(host=server["HOST"], port=server["PORT"], debug=os.environ.get("FLASK_DEBUG") == "1")

"""Development server: ``python -m backend`` (debug off unless FLASK_DEBUG=1).
Production: ``python -m backend.serve`` (gunicorn)."""

import logging
import os

from backend import create_app
from backend.config import from_env, server_from_env
from backend.observability import configure_logging
from ml.inference.artifact import ArtifactError

if __name__ == "__main__":
    try:
        server = server_from_env()
        configure_logging(server["LOG_FORMAT"] or "text", server["LOG_LEVEL"])
        # werkzeug (this server's request lines) sets its logger to INFO unless it has a level already.
        logging.getLogger("werkzeug").setLevel(server["LOG_LEVEL"].upper())
        settings = from_env()
        if settings["FEEDBACK"]:  # the schema, brought up to date as backend/serve.py does
            from backend.feedback.database import prepare

            prepare(settings["DATABASE_URL"])
        app = create_app()
    except (ArtifactError, RuntimeError) as error:
        raise SystemExit(f"error: {error}") from None
    app.run(host=server["HOST"], port=server["PORT"], debug=os.environ.get("FLASK_DEBUG") == "1")

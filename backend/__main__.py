"""Development server: ``python -m backend`` (debug off unless FLASK_DEBUG=1). Production: gunicorn."""

import os

from backend import create_app
from backend.observability import configure_logging

if __name__ == "__main__":
    configure_logging(os.environ.get("LOG_FORMAT", "text"))
    create_app().run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")),
                     debug=os.environ.get("FLASK_DEBUG") == "1")

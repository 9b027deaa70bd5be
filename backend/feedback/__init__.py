"""Feedback: "that's wrong, it's a dog". A user's correction of an answer, with the picture, kept
(with their consent) to retrain the model (``python -m ml finetune --feedback ...``).

- ``views``: the blueprint, /api/feedback (send), /api/feedback/<id> (withdraw), /api/feedback/export;
- ``images``: what is kept of a picture: a JPEG of at most 512 pixels a side, without metadata;
- ``store``: the entries: add, delete, export, purge (storage cap and retention);
- ``models``: the table; ``database``: the engine for DATABASE_URL and the schema's upgrade;
- ``migrations/``: the schema's history (Alembic), applied by ``database.prepare``, which the
  launchers run once before the app starts (backend/serve.py, backend/__main__.py).

``FEEDBACK=off`` registers none of it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    if not app.config["FEEDBACK"]:
        return
    from backend.feedback import database, views
    from backend.feedback.store import FeedbackStore

    url = app.config["DATABASE_URL"]
    with database.reporting(url):
        engine = database.connect(url)
        # The launcher brought the schema up to date before any worker started (one upgrade a
        # start, not one a worker: workers never load Alembic); here it is only checked.
        database.require_schema(engine)
        store = FeedbackStore(engine, max_bytes=app.config["FEEDBACK_MAX_BYTES"],
                              retention_days=app.config["FEEDBACK_RETENTION_DAYS"])
        store.purge()  # retention also applies where no feedback arrives for a while
    app.extensions["feedback"] = store
    app.register_blueprint(views.bp)

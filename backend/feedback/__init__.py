"""Feedback: "that's wrong, it's a dog". A user's correction of an answer, with the picture, kept
(with their consent) to retrain the model (``python -m ml finetune --feedback ...``).

- ``views``: the blueprint, /api/feedback (send), /api/feedback/<id> (withdraw), /api/feedback/export;
- ``images``: what is kept of a picture: a JPEG of at most 512 pixels a side, without metadata;
- ``store``: the entries: add, delete, export, purge (storage cap and retention);
- ``models``: the table; ``database``: the engine for DATABASE_URL and the schema's upgrade;
- ``migrations/``: the schema's history (Alembic), applied by ``database.upgrade``.

``FEEDBACK=off`` registers none of it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    if not app.config["FEEDBACK"]:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from backend.feedback import database, views
    from backend.feedback.store import FeedbackStore

    url = app.config["DATABASE_URL"]
    try:
        engine = database.connect(url)
        # Every worker brings the schema up to date before it serves, one at a time (a lock):
        # whatever starts the app (gunicorn's workers, several instances, the development server,
        # the tests) then finds the table there, and no separate step can be forgotten at deploy.
        database.upgrade(engine)
        store = FeedbackStore(engine, max_bytes=app.config["FEEDBACK_MAX_BYTES"],
                              retention_days=app.config["FEEDBACK_RETENTION_DAYS"])
        store.purge()  # retention also applies where no feedback arrives for a while
    except (SQLAlchemyError, OSError) as error:
        # One line (backend/wsgi.py stops the server with it), the password left out.
        shown = database.database_url(url).render_as_string(hide_password=True)
        raise RuntimeError(f"the feedback database {shown} cannot be used (FEEDBACK=off runs "
                           f"without one): {str(error).splitlines()[0]}") from error
    app.extensions["feedback"] = store
    app.register_blueprint(views.bp)

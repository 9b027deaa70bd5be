"""Alembic's environment: how a migration run reaches the database. Programs pass their connection
(backend.feedback.database.upgrade); the alembic command line connects to DATABASE_URL. Either way
the whole run is one transaction under the schema lock, so that processes starting at once upgrade
one after the other, and a failed upgrade leaves the schema as it was."""

import logging

from alembic import context

from backend.feedback import database
from backend.feedback.models import metadata

log = logging.getLogger("backend.feedback")


def announce(*, step, **_) -> None:
    """One line a migration applied or reverted (Alembic's own INFO lines are off:
    database.upgrade)."""
    if step.is_upgrade:
        log.info("feedback database: migration %s applied (%s)", step.up_revision_id,
                 step.up_revision.doc)
    else:
        log.info("feedback database: migration %s reverted", step.up_revision_id)


def run(connection) -> None:
    with connection.begin():
        database.lock_schema(connection)
        context.configure(connection=connection, target_metadata=metadata, on_version_apply=announce)
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the feedback migrations run against a database (no --sql)")
if "connection" in context.config.attributes:
    run(context.config.attributes["connection"])
else:  # the alembic command line: it says what it did on the terminal
    from backend.config import from_env

    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with database.connect(from_env()["DATABASE_URL"]).connect() as connection:
        run(connection)

"""The feedback database: an SQLAlchemy engine for DATABASE_URL, and the schema brought up to date
(Alembic, ``migrations/``) safely when several processes start at once.

The servers' launchers (``python -m backend.serve``, ``python -m backend``) run ``prepare`` once,
before the app starts: gunicorn's workers then only ``connect`` and check the table is there
(``require_schema``), and never import Alembic (some 11 MB a worker) nor SQLAlchemy's ORM (6 MB;
the table is SQLAlchemy Core's, backend/feedback/models.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from backend.feedback.models import feedback
from ml.database import sqlalchemy_url

MIGRATIONS = "backend.feedback:migrations"  # Alembic's script_location, as a package resource
# The PostgreSQL advisory lock that schema upgrades take (any number no other code uses).
SCHEMA_LOCK = 3_200_032


def database_url(url: str) -> URL:
    """DATABASE_URL as SQLAlchemy takes it. Render hands out postgres://... and SQLAlchemy's own
    default PostgreSQL driver is psycopg2: both name psycopg (3) instead."""
    return make_url(sqlalchemy_url(url))


def connect(url: str) -> Engine:
    url = database_url(url)
    if url.get_backend_name() != "sqlite":
        # A managed database closes idle connections: test each one as it leaves the pool.
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A writer waits up to 30 s for another's lock (the two workers write the same file).
    engine = create_engine(url, connect_args={"timeout": 30})

    # SQLAlchemy's SQLite documentation ("Enabling Non-Legacy SQLite Transactional Modes"): the
    # sqlite3 module's own transaction handling is off, and SQLAlchemy emits BEGIN itself.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        # Write-ahead log: readers (the export) never wait for a writer, nor a writer for them.
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection):
        # IMMEDIATE takes the write lock at once. A plain (deferred) BEGIN that reads and then
        # writes fails with "database is locked" whenever another process wrote in between, a
        # wait would not help. Readers ask for a plain BEGIN (execution option sqlite_begin).
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin",
                                                                          "BEGIN IMMEDIATE"))

    return engine


def lock_schema(connection: Connection) -> None:
    """Hold the schema for the rest of ``connection``'s transaction, so that two processes that
    start at once upgrade one after the other: PostgreSQL's advisory lock (released at commit). An
    SQLite transaction holds the whole file already (BEGIN IMMEDIATE, above)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def quiet_alembic() -> None:
    """Before Alembic is imported: its INFO lines (its plugins as they load, its dialect) are
    noise at every start. The migrations applied, if any, are announced by migrations/env.py."""
    logging.getLogger("alembic").setLevel(logging.WARNING)


def upgrade(engine: Engine) -> None:
    """Apply the migrations the database lacks (none, usually), in one transaction under
    ``lock_schema`` (migrations/env.py)."""
    quiet_alembic()
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.connect() as connection:
        # Alembic's recipe for sharing a connection with env.py.
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def shown_url(url: str) -> str:
    """DATABASE_URL as it may be printed: without its password."""
    try:
        return database_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:  # not a URL at all (SQLAlchemy's ArgumentError)
        return "DATABASE_URL (not a database URL)"


@contextmanager
def reporting(url: str, *also: type[Exception]) -> Iterator[None]:
    """A database that cannot be reached or used (a bad URL, a driver that is not installed, a
    server that refuses, or any of ``also``) becomes one RuntimeError line naming it, the password
    left out: the launchers and backend/wsgi.py stop the server with it."""
    try:
        yield
    except (SQLAlchemyError, OSError, ImportError, *also) as error:
        raise RuntimeError(f"the feedback database {shown_url(url)} cannot be used (FEEDBACK=off "
                           f"runs without one): {str(error).splitlines()[0]}") from error


def prepare(url: str) -> None:
    """Create the schema, or bring it up to date: what a launcher runs before the app starts."""
    # Alembic's own failures too: say, a database a newer release migrated, which this code's
    # migrations do not know ("Can't locate revision identified by '0002'").
    quiet_alembic()
    from alembic.util import CommandError

    with reporting(url, CommandError):
        engine = connect(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()


def require_schema(engine: Engine) -> None:
    """Refuse to serve on a database whose feedback table was never created. Its version is not
    compared (that needs Alembic): the launchers, which every server starts through, upgrade it."""
    if not inspect(engine).has_table(feedback.name):
        shown = engine.url.render_as_string(hide_password=True)
        raise RuntimeError(f"the feedback database {shown} has no {feedback.name} table: the "
                           "launchers (python -m backend.serve, python -m backend) create it "
                           "before the app starts; elsewhere, call "
                           "backend.feedback.database.prepare(DATABASE_URL) first")

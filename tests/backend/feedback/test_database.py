"""backend/feedback/database.py: the URL Render hands out works, the schema is created and brought
up to date, also by processes that start at once, and matches the models."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from backend.feedback import database
from tests.conftest import ROOT


@pytest.mark.parametrize("url", ["postgres://user:secret@db.example:5432/feedback",
                                 "postgresql://user:secret@db.example:5432/feedback"])
def test_a_postgresql_url_names_psycopg(url):
    normalised = database.database_url(url)
    assert normalised.drivername == "postgresql+psycopg"
    assert (normalised.username, normalised.password, normalised.host, normalised.port,
            normalised.database) == ("user", "secret", "db.example", 5432, "feedback")


def test_an_sqlite_url_is_left_as_it_is(tmp_path):
    assert database.database_url(f"sqlite:///{tmp_path}/f.db").drivername == "sqlite"


def _version(url: str) -> list[str]:
    engine = database.connect(url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def test_upgrade_creates_the_table_once(database_url):
    engine = database.connect(database_url)
    database.upgrade(engine)
    database.upgrade(engine)  # every start runs it: the second time it does nothing
    columns = {column["name"] for column in inspect(engine).get_columns("feedback")}
    assert columns == {"id", "label", "predicted", "model_version", "created_at", "image",
                       "image_bytes", "delete_token_hash"}
    engine.dispose()
    assert _version(database_url) == ["0001"]


def test_the_migrations_build_the_schema_the_models_declare(database_url):
    """A change to models.py without its migration fails here (Alembic's own comparison)."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    config = Config()
    config.set_main_option("script_location", database.MIGRATIONS)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when autogenerate would write a new migration
    engine.dispose()


def test_processes_that_start_at_once_upgrade_one_after_the_other(database_url):
    """Instances start together on an empty database: each launcher upgrades it under the schema
    lock, and all of them start."""
    script = ("import sys; from backend.feedback import database; "
              "database.upgrade(database.connect(sys.argv[1]))")
    processes = [subprocess.Popen([sys.executable, "-c", script, database_url], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(3)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert _version(database_url) == ["0001"]


def test_the_alembic_command_line_upgrades_database_url(tmp_path):
    """docs/development.md's way to write and apply migrations: pyproject.toml's [tool.alembic]
    names the same migrations as the launchers use."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        assert tomllib.load(file)["tool"]["alembic"]["script_location"] == database.MIGRATIONS
    url = f"sqlite:///{tmp_path}/feedback.db"
    done = subprocess.run([str(Path(sys.executable).parent / "alembic"), "upgrade", "head"], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert _version(url) == ["0001"]


def test_a_worker_never_loads_alembic_nor_the_orm(database_url, model_path):
    """What a gunicorn worker imports (backend/wsgi.py) with feedback on: the launcher made the
    schema, so the worker needs SQLAlchemy's Core only (Alembic: some 11 MB; the ORM: 6 MB)."""
    database.prepare(database_url)
    script = ("import sys, backend.wsgi; "
              "print(sorted({m.split('.')[0] + ('.orm' if m.startswith('sqlalchemy.orm') else '') "
              "for m in sys.modules if m.startswith(('alembic', 'sqlalchemy'))}))")
    worker = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DATABASE_URL": database_url,
                                 "MODEL_PATH": str(model_path)}, timeout=120)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.splitlines()[-1] == "['sqlalchemy']", worker.stdout


def test_sqlite_keeps_a_write_ahead_log(tmp_path):
    engine = database.connect(f"sqlite:///{tmp_path}/instance/feedback.db")  # the folder is made
    database.upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"

"""The feedback tests run against both databases DATABASE_URL can name: an SQLite file, and a real
PostgreSQL server, a throwaway cluster started here (Debian's postgresql: make system-deps
installs it). PostgreSQL refuses to run as root: as root, its ``postgres`` user runs the cluster.
Without PostgreSQL the tests fail, saying so: they are not skipped."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

DATABASES = ["sqlite", "postgresql"]


def postgresql_programs() -> Path:
    """The folder of initdb and pg_ctl: on the PATH, or where Debian puts them (not on the PATH)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                       key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)  # newest
    if not installed:
        pytest.fail("PostgreSQL is missing: the feedback tests run against a real server. "
                    "`make system-deps` installs Debian's postgresql (initdb, pg_ctl).")
    return installed[-1].parent


class Cluster:
    """A PostgreSQL cluster in a temporary folder, reached through a Unix socket in that folder
    only (no TCP port), trust authentication: nothing outside the tests can reach it."""

    def __init__(self):
        self.programs = postgresql_programs()
        self.folder = Path(tempfile.mkdtemp(prefix="test-postgresql-"))
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self.names = (f"feedback_{n}" for n in itertools.count())

    def _run(self, *command) -> None:
        result = subprocess.run([*self.as_owner, *map(str, command)], capture_output=True, text=True,
                                timeout=120, cwd=self.folder)  # a folder its owner may enter
        if result.returncode:
            log = self.folder / "server.log"
            raise RuntimeError(f"{command[0]} failed:\n{result.stdout}{result.stderr}"
                               + (log.read_text() if log.exists() else ""))

    def start(self) -> None:
        data = self.folder / "data"
        self._run(self.programs / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        # fsync off: a test cluster need not survive a power cut (a killed client, it does).
        self._run(self.programs / "pg_ctl", "-D", data, "-l", self.folder / "server.log", "-w",
                  "-o", f"-k {self.folder} -c listen_addresses='' -c fsync=off", "start")

    def stop(self) -> None:
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run(self.programs / "pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = next(self.names)
        with psycopg.connect(host=str(self.folder), user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgresql():
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def new_database(request, kind: str, folder: Path) -> str:
    """A new, empty database of ``kind``: a file in ``folder``, or a database of the cluster."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'feedback.db'}"
    return request.getfixturevalue("postgresql").new_database()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    """An empty database of each kind, in turn."""
    return new_database(request, request.param, tmp_path)

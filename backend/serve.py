"""The production server, started one way everywhere: ``python -m backend.serve``.

``make run``, Render's startCommand, ``python -m bench``, ``python -m bench.hostile`` and the
tests (tests/server.py) all start it so, so the benchmarks measure what users run. It

1. checks the settings (backend/config.py): a malformed one, say ``GUNICORN_TIMEOUT=abc``, stops it
   with one line, ``error: environment variable GUNICORN_TIMEOUT must be an integer, got 'abc'``,
   rather than a traceback from the master or from every worker;
2. sets glibc's allocator up with its documented environment variables, where the environment does
   not set them already: two arenas instead of one per thread (MALLOC_ARENA_MAX=2), and a fixed
   1 MB mmap threshold (big buffers are mmapped and handed back when freed, and the threshold no
   longer grows), so that a worker's RSS stays flat instead of keeping every batch's peak;
3. brings the feedback database's schema up to date (backend/feedback/database.py), once, before
   any worker starts; a database it cannot use stops it with one line, as a bad setting does;
4. replaces itself with gunicorn (exec) configured by backend/gunicorn.conf.py. glibc reads those
   variables when a process starts, hence the exec; it also keeps the process id, so the signals
   Render or a test sends reach gunicorn's master.

Extra arguments are passed on to gunicorn.
"""

from __future__ import annotations

import os
import sys

from backend.config import PATH_SETTINGS, ROOT, absolute, from_env, server_from_env

CONFIG = ROOT / "backend" / "gunicorn.conf.py"
ALLOCATOR = {"MALLOC_ARENA_MAX": "2", "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=1048576"}


def main(argv: list[str]) -> None:
    try:  # every setting, as the server will read it
        settings = from_env()
        server = server_from_env()
    except RuntimeError as error:
        raise SystemExit(f"error: {error}") from None
    # A relative path in a setting means the caller's folder (backend.config.settings makes it
    # absolute against the working directory): say which before leaving it.
    for name in PATH_SETTINGS:
        if os.environ.get(name):
            os.environ[name] = absolute(os.environ[name])
    # gunicorn imports the app from its working directory: serving from the project folder runs
    # this checkout's code whatever the caller's folder.
    os.chdir(ROOT)
    if settings["FEEDBACK"]:  # after the chdir: a relative SQLite path means what it will to workers
        from backend.feedback.database import prepare
        from backend.observability import configure_logging

        configure_logging(server["LOG_FORMAT"] or "json", server["LOG_LEVEL"])  # as backend/wsgi.py
        try:
            prepare(settings["DATABASE_URL"])
        except RuntimeError as error:
            raise SystemExit(f"error: {error}") from None
    os.execve(sys.executable, [sys.executable, "-m", "gunicorn", "--config", str(CONFIG), *argv],
              {**ALLOCATOR, **os.environ})


if __name__ == "__main__":
    main(sys.argv[1:])

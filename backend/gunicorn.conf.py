"""gunicorn settings for production, read by the launcher's gunicorn (``python -m backend.serve``:
make run, Render, the benchmarks, the tests). The environment overrides them (backend/config.py's
server_from_env); importing this file changes nothing: the server hooks below act at start and exit."""

import os
import shutil
import tempfile
from pathlib import Path

from backend.config import server_from_env

settings = server_from_env()
bind = f"{settings['HOST']}:{settings['PORT']}"
# Each worker holds its own model and runtime (backend/config.py: WEB_CONCURRENCY).
workers = settings["WEB_CONCURRENCY"]
# gunicorn supervises the workers; each worker serves with waitress (backend/waitress_worker.py),
# which reads every request completely in one I/O thread before a worker thread runs the app: slow
# or stalled clients cost a socket, never a thread. The threads overlap one request's decoding with
# another's inference (ONNX Runtime and Pillow release the GIL).
worker_class = "backend.waitress_worker.WaitressWorker"
threads = settings["GUNICORN_THREADS"]
# No preload: each worker loads and warms up the model itself, before it serves. A preloaded master
# would hold a second copy of the model for nothing (the workers touch their pages anyway), and a
# bad model still stops start-up at once (backend/wsgi.py exits with gunicorn's "worker failed to
# boot" code).
preload_app = False
timeout = settings["GUNICORN_TIMEOUT"]
graceful_timeout = 20
# Header and connection limits: backend/waitress_worker.py (waitress parses the requests).
max_requests = settings["GUNICORN_MAX_REQUESTS"]
max_requests_jitter = 50
control_socket_disable = True  # no shared ~/.gunicorn socket: several servers may run side by side
errorlog = "-"
loglevel = settings["LOG_LEVEL"]
wsgi_app = "backend.wsgi:app"

# Prometheus multiprocess mode (backend/observability.py): each worker writes its metrics to files
# in one folder and any worker's /metrics adds them all up. The folder this server made, if any.
created_metrics_dir = None


def on_starting(server):
    """In the master, before any worker forks: a fresh folder for this server's metrics (stale
    files would count old workers), which every worker inherits through the environment."""
    global created_metrics_dir
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # the operator's own: emptied of an earlier server's files
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        created_metrics_dir = tempfile.mkdtemp(prefix="cifar10-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = created_metrics_dir


def child_exit(server, worker):
    """A worker is gone: drop its live gauges from the sums (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """The master is exiting: the metrics folder it made goes with it (an operator's stays)."""
    if created_metrics_dir:
        shutil.rmtree(created_metrics_dir, ignore_errors=True)

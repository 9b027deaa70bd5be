"""gunicorn settings for production (`make run`, Render). Everything can be overridden by env."""

import os
import tempfile
from pathlib import Path

# Memory: glibc's allocator is tuned where the server starts (Makefile's run, render.yaml) with
# its documented environment variables, MALLOC_ARENA_MAX=2 and GLIBC_TUNABLES=
# glibc.malloc.mmap_threshold=1048576: two arenas instead of one per thread, and a fixed 1 MB
# threshold (big buffers are mmapped and handed back when freed, and the threshold no longer
# grows), so a worker's RSS stays flat instead of keeping every batch's peak.

# Prometheus multiprocess mode (backend/observability.py): each worker writes its metrics to files
# in this folder and any worker's /metrics adds them all up. A fresh, empty folder per server start
# (stale files would count old workers); set here, in the master, so every worker inherits it.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="cifar10-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
for stale in Path(metrics_dir).glob("*.db"):
    stale.unlink()


def child_exit(server, worker):
    """A worker is gone: drop its live gauges from the sums (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Each worker holds its own model and runtime (~200 MB RSS; the master ~25 MB): 2 fit the free
# Render instance's 512 MB.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gunicorn supervises the workers; each worker serves with waitress (backend/workers.py), which
# reads every request completely in one I/O thread before a worker thread runs the app: slow or
# stalled clients cost a socket, never a thread. The threads overlap one request's decoding with
# another's inference (ONNX Runtime and Pillow release the GIL).
worker_class = "backend.workers.WaitressWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# No preload: each worker loads the model itself (~0.5 s). A preloaded master would hold a second
# copy of the model for nothing (the workers touch their pages anyway), and a bad model still
# stops start-up at once (backend/wsgi.py exits with gunicorn's "worker failed to boot" code).
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a worker whose I/O loop stops is replaced
graceful_timeout = 20
# Header and connection limits: backend/workers.py (waitress parses the requests).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 50
control_socket_disable = True  # no shared ~/.gunicorn socket: several servers may run side by side
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
wsgi_app = "backend.wsgi:app"


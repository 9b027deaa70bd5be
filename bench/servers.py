"""Starting, watching and stopping the servers under test, each in its own process group.

A server's output goes to a log file (a pipe nobody reads would fill up and block it); its last
lines are shown when it fails to start. ``ServerProcess`` is a context manager: the server and
everything it forked are terminated on the way out, whatever happened (Ctrl-C included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only: the benchmark never talks to another machine
STOP_TIMEOUT_S = 30.0  # gunicorn's graceful_timeout is 20 s
KILL_WAIT_S = 10.0
BYTES_PER_MB = 1024 * 1024
# Both servers: one gunicorn worker with 4 threads (what backend/gunicorn.conf.py sets for ours).
WORKERS = "1"
THREADS = "4"
# Ours with every per-client limit off (an empty one is off, backend/config.py): the phases measure
# the server, and all their requests come from one address (with IMAGE_RATE_LIMIT on, 9,381 of
# 9,562 requests from 16 clients were 429s). bench.hostile keeps them on: its burst expects 429s.
LIMITS_OFF = {"RATE_LIMIT": "", "UPLOAD_RATE_LIMIT": "", "IMAGE_RATE_LIMIT": ""}


class ServerFailed(RuntimeError):
    """The server did not start (exited, or no prediction in time) or died during the benchmark;
    carries the last lines of its output."""

    def __init__(self, message: str, output_tail: str):
        super().__init__(message)
        self.output_tail = output_tail


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: its name, the port it binds on 127.0.0.1, its command line, extra
    environment and working directory (the checkout whose code it runs)."""

    name: str
    description: str
    port: int
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = ROOT


def gunicorn_command(*args: str) -> list[str]:
    """gunicorn from this interpreter's environment (the project's virtualenv)."""
    return [sys.executable, "-m", "gunicorn", *args]


def ours_spec(model_path: Path, port: int, root: Path = ROOT, name: str = "ours") -> ServerSpec:
    """The production server of the checkout at ``root`` started by its launcher, as `make run` and
    Render start it, with one worker and the per-client limits off."""
    return ServerSpec(
        name=name,
        description="python -m backend.serve (gunicorn, waitress worker, 1 worker x 4 threads, ONNX "
                    "Runtime); per-client limits off: " + ", ".join(f"{limit}=''" for limit in LIMITS_OFF)
                    + ("" if root == ROOT else f"; the code in {root}"),
        port=port,
        argv=[sys.executable, "-m", "backend.serve"],
        env={"HOST": HOST, "PORT": str(port), "WEB_CONCURRENCY": WORKERS, "GUNICORN_THREADS": THREADS,
             "MODEL_PATH": str(model_path), **LIMITS_OFF},
        cwd=root,
    )


def baseline_spec(model_path: Path, port: int) -> ServerSpec:
    """The common way: a plain Flask + Keras app under the same gunicorn worker setup (1 worker,
    4 threads, the model loaded in the worker, as ours). The boot timeout is raised because
    importing TensorFlow on a busy machine can take longer than gunicorn's default 30 s."""
    return ServerSpec(
        name="baseline",
        description="gunicorn bench.baseline_server (gthread, 1 worker x 4 threads, Flask + "
                    "TensorFlow/Keras model.predict)",
        port=port,
        argv=gunicorn_command("--bind", f"{HOST}:{port}", "--workers", WORKERS, "--worker-class", "gthread",
                              "--threads", THREADS, "--timeout", "120", "--keep-alive", "5",
                              "bench.baseline_server:create_app()"),
        env={"MODEL_PATH": str(model_path), "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


class ServerProcess:
    """A running server: spawn on enter, terminate its whole process group on exit."""

    def __init__(self, spec: ServerSpec):
        self.spec = spec
        self.base_url = f"http://{HOST}:{spec.port}"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0  # time.perf_counter() just before the spawn
        self._log_dir = tempfile.TemporaryDirectory(prefix=f"bench-{spec.name}-")
        self.log_path = Path(self._log_dir.name) / "server.log"

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:  # e.g. Ctrl-C right after the spawn: __exit__ would not run
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.stop()
        finally:
            self._log_dir.cleanup()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.spec.env}
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            # Own session and process group: Ctrl-C in the terminal reaches only the benchmark,
            # which then stops the server itself; and the group lets stop() reach every worker.
            self.process = subprocess.Popen(self.spec.argv, cwd=self.spec.cwd, env=env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the master (graceful shutdown), then SIGKILL to whatever of its group is left."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        finally:  # even if a second Ctrl-C cut the graceful wait short
            self._kill_group()
        try:
            self.process.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            print(f"warning: {self.spec.name} server (pid {self.process.pid}) did not exit", file=sys.stderr)

    def _kill_group(self) -> None:
        """SIGKILL whatever is left of the process group we created (its id is our child's pid)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already empty

    def memory(self) -> dict:
        """Memory of the server's whole process tree (see :func:`tree_memory`)."""
        if not self.alive():
            raise self.failure(f"died during the benchmark (exit code {self.process.returncode})")
        return tree_memory(self.process.pid)

    def output_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return "".join(deque(log, maxlen=lines))
        except OSError:
            return ""

    def failure(self, message: str) -> ServerFailed:
        return ServerFailed(f"{self.spec.name} server: {message}", self.output_tail())


def tree_processes(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants (a server's master, its workers and anything
    they started, a decoder pool's children included), the root first."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_memory(pid: int) -> dict:
    """Memory of the process tree under ``pid``, summed: RSS (what the targets use; counts pages
    shared after fork once per process) and PSS (shared pages split between them)."""
    rss, pss = [], []
    for process in tree_processes(pid):
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # a worker being replaced
        rss.append(info.rss / BYTES_PER_MB)
        pss.append(getattr(info, "pss", 0) / BYTES_PER_MB)
    return {"rss_mb": round(sum(rss), 1), "pss_mb": round(sum(pss), 1), "processes": len(rss),
            "rss_per_process_mb": [round(value, 1) for value in rss]}  # the root first


def tree_rss_mb(pid: int) -> float:
    """The summed RSS of the process tree under ``pid`` (cheaper than :func:`tree_memory`)."""
    total = 0
    for process in tree_processes(pid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # exited between the listing and the reading
    return total / BYTES_PER_MB


class PeakTreeRSS:
    """The highest summed RSS of the process tree under ``pid`` during a ``with`` block, sampled
    every ``interval`` seconds by a thread: a process started and ended inside the block counts
    while it lives (a peak shorter than the interval can be missed). ``before_mb``: the RSS as the
    block began; ``peak_mb``: the highest sample; ``samples``: how many."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self.before_mb = self.peak_mb = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        """One sample every interval until the block ends, and one as it ends."""
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                rss = tree_rss_mb(self.pid)
            except psutil.NoSuchProcess:
                return  # the root itself is gone
            self.peak_mb = max(self.peak_mb, rss)
            self.samples += 1
            if stopping:
                return

    def __enter__(self) -> PeakTreeRSS:
        self.before_mb = self.peak_mb = tree_rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

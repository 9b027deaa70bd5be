"""Start the production server as everywhere else, with its launcher (``python -m backend.serve``),
on a free loopback port."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

from bench.fixtures import free_port

ROOT = Path(__file__).resolve().parent.parent
# The servers' output goes to files here, never to a pipe: a pipe nobody reads fills up (64 KB of
# JSON access logs is a few dozen page loads) and then blocks every thread that logs, the
# worker's I/O loop included, until gunicorn kills it as hung.
_LOGS = tempfile.TemporaryDirectory(prefix="test-servers-")
atexit.register(_LOGS.cleanup)


def spawn(model_path, **env) -> tuple[subprocess.Popen, str]:
    port = free_port()
    variables = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1",
                 "MODEL_PATH": str(model_path), **{k: str(v) for k, v in env.items()}}
    log_path = Path(_LOGS.name) / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "backend.serve"], cwd=ROOT, env=variables,
                                   stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    return process, f"http://127.0.0.1:{port}"


def output(process: subprocess.Popen) -> str:
    """Everything the server has printed so far."""
    return process.log_path.read_text(errors="replace")


def wait_ready(process: subprocess.Popen, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/api/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise RuntimeError(f"server did not start:\n{output(process)[-3000:]}") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_server(model_path, **env):
    process, url = spawn(model_path, **env)
    try:
        wait_ready(process, url)
        yield process, url
    finally:
        stop(process)


def worker_pid(process: subprocess.Popen) -> int:
    """The pid of the server's one worker (WEB_CONCURRENCY=1)."""
    (worker,) = psutil.Process(process.pid).children()
    return worker.pid


class PeakMemory:
    """A process's peak RSS growth over a block: VmHWM after minus VmRSS before (VmHWM is reset to
    VmRSS first, with ``clear_refs``), and the block's duration."""

    def __init__(self, pid: int):
        self.pid = pid

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def __enter__(self):
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.before = self._status("VmRSS")
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
        self.growth = self._status("VmHWM") - self.before

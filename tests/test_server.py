"""The production server: its launcher, and the server under faults (bad model files, killed
workers, stalled clients, restarts)."""

import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
import requests

from backend.serve import ALLOCATOR
from bench import attacks
from tests.imagegen import encode, gradient
from tests.server import free_port, output, running_server, spawn, stop, wait_ready

ROOT = Path(__file__).resolve().parent.parent

PNG = encode(gradient(32, 32), "PNG")


def predict(url, timeout=10):
    return requests.post(url + "/api/predict", files={"image": ("x.png", PNG)}, timeout=timeout)


def start_up_failure(model_path) -> str:
    process, _ = spawn(model_path)
    try:
        process.wait(timeout=60)
    finally:
        stop(process)
    assert process.returncode != 0
    return output(process)


def test_missing_model_stops_start_up_with_a_clear_message(tmp_path):
    output = start_up_failure(tmp_path / "nowhere.pkl")
    assert "model file not found" in output


def test_tampered_model_stops_start_up(tmp_path, model_path):
    bad = tmp_path / "model.pkl"
    data = bytearray(model_path.read_bytes())
    data[-100] ^= 0xFF
    bad.write_bytes(bytes(data))
    sidecar = model_path.parent / (model_path.name + ".sha256")
    (tmp_path / "model.pkl.sha256").write_text(sidecar.read_text())
    assert "does not match its SHA-256" in start_up_failure(bad)


def test_killed_worker_is_replaced(model_path):
    with running_server(model_path) as (process, url):
        assert predict(url).status_code == 200
        (worker,) = psutil.Process(process.pid).children()
        os.kill(worker.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if predict(url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "no worker came back"
            time.sleep(0.3)
        (replacement,) = psutil.Process(process.pid).children()
        assert replacement.pid != worker.pid


@pytest.mark.parametrize("head", [
    b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Len",  # stalls in the headers
    b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n--b\r\n",  # in the body
    b"",  # connects and sends nothing
])
def test_a_stalled_connection_is_closed_and_blocks_no_one(model_path, head):
    """More stalled connections than the worker has threads: normal requests are served at once
    (the I/O thread holds the stalled ones, not the worker threads), and each stalled connection is
    closed CHANNEL_TIMEOUT seconds after its last byte."""
    with running_server(model_path, GUNICORN_THREADS=2, CHANNEL_TIMEOUT=2) as (_, url):
        port = int(url.rsplit(":", 1)[1])
        stalled = [socket.create_connection(("127.0.0.1", port), timeout=15) for _ in range(6)]
        try:
            for sock in stalled:
                sock.sendall(head)
            started = time.monotonic()
            assert predict(url, timeout=5).status_code == 200
            assert time.monotonic() - started < 2
            for sock in stalled:
                assert sock.recv(1024) == b""  # closed by the server, without an answer
            assert time.monotonic() - started < 10
        finally:
            for sock in stalled:
                sock.close()


def test_graceful_shutdown_finishes_the_request_in_hand(model_path):
    """SIGTERM (a deploy) while a request is being served: it is answered, then the server exits."""
    process, url = spawn(model_path)
    try:
        wait_ready(process, url)
        photo = attacks.png_zeros(5000, 4000, "RGB8")  # ~0.25 s to decode: the batch takes ~2 s
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(requests.post, url + "/api/predict/batch",
                                 files=[("images", ("x.png", photo))] * 8, timeout=30)
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            response = answer.result()
        assert response.status_code == 200
        assert all("predictions" in result for result in response.json()["results"])
        assert process.wait(timeout=30) == 0
    finally:
        stop(process)


@pytest.mark.parametrize("path", ["/api/health", "/"])
def test_production_server_serves_the_app(model_path, path):
    with running_server(model_path) as (_, url):
        assert requests.get(url + path, timeout=10).status_code == 200
        assert predict(url).json()["predictions"]


@pytest.mark.parametrize("name", ["GUNICORN_TIMEOUT", "WEB_CONCURRENCY", "PORT", "GUNICORN_THREADS",
                                  "CHANNEL_TIMEOUT", "CONNECTION_LIMIT", "MAX_UPLOAD_BYTES"])
def test_a_malformed_number_stops_the_launcher_with_one_line(name):
    launcher = subprocess.run([sys.executable, "-m", "backend.serve"], cwd=ROOT,
                              env={**os.environ, name: "abc"}, capture_output=True, text=True, timeout=60)
    assert launcher.returncode != 0 and launcher.stdout == ""
    assert launcher.stderr == f"error: environment variable {name} must be an integer, got 'abc'\n"


def environ(pid: int) -> dict:
    """The environment a process started with."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def test_the_launcher_serves_from_any_folder_with_the_allocator_settings(model_path, tmp_path):
    """Started from another folder, it serves this checkout; glibc's settings are its defaults, and
    one the environment sets wins."""
    port = free_port()
    variables = {name: value for name, value in os.environ.items() if name not in ALLOCATOR}
    variables |= {"PYTHONPATH": str(ROOT), "PORT": str(port), "WEB_CONCURRENCY": "1",
                  "MODEL_PATH": str(model_path), "MALLOC_ARENA_MAX": "4"}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "backend.serve"], cwd=tmp_path, env=variables,
                                   stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url)
        assert predict(url).status_code == 200
        (worker,) = psutil.Process(process.pid).children()
        for pid in (process.pid, worker.pid):  # exec: the launcher's process is gunicorn's master
            started_with = environ(pid)
            assert started_with["MALLOC_ARENA_MAX"] == "4"
            assert started_with["GLIBC_TUNABLES"] == ALLOCATOR["GLIBC_TUNABLES"]
        assert Path(worker.cwd()) == ROOT
    finally:
        stop(process)


def metrics_folders(parent: Path) -> list[Path]:
    return list(parent.glob("cifar10-metrics-*"))


def test_the_metrics_folder_made_at_start_is_gone_once_the_server_stops(model_path, tmp_path):
    with running_server(model_path, TMPDIR=tmp_path) as (_, url):
        assert predict(url).status_code == 200
        (folder,) = metrics_folders(tmp_path)
        assert list(folder.glob("*.db"))  # the worker's metrics
    assert metrics_folders(tmp_path) == []


def test_an_operators_metrics_folder_is_emptied_at_start_and_kept(model_path, tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    stale = folder / "counter_12345.db"
    stale.write_bytes(b"an earlier server's")
    with running_server(model_path, PROMETHEUS_MULTIPROC_DIR=folder, TMPDIR=tmp_path) as (_, url):
        assert predict(url).status_code == 200
        assert not stale.exists() and list(folder.glob("*.db"))
        assert requests.get(url + "/metrics", timeout=10).status_code == 200
    assert folder.is_dir() and metrics_folders(tmp_path) == []


def test_reading_the_gunicorn_config_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = dict(os.environ)
    runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    assert dict(os.environ) == before and list(tmp_path.iterdir()) == []

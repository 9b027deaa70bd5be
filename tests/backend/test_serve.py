"""backend/serve.py, the production server's launcher, and what it starts: gunicorn configured by
backend/gunicorn.conf.py, serving backend/wsgi.py's app; under faults (bad model files, killed
workers)."""

import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests

from backend.serve import ALLOCATOR
from bench.fixtures import encode, free_port
from ml.inference import artifact
from tests.imagegen import gradient
from tests.server import ROOT, output, running_server, spawn, stop, wait_ready

PNG = encode(gradient(32, 32), "PNG")


def predict(url, timeout=10):
    return requests.post(url + "/api/predict", files={"image": ("x.png", PNG)}, timeout=timeout)


def start_up_failure(model_path) -> str:
    """What the server prints before it stops; it must stop with gunicorn's "worker failed to
    boot" status, its one worker started once (not restarted in a loop), and no traceback."""
    process, _ = spawn(model_path)
    try:
        process.wait(timeout=60)
    finally:
        stop(process)
    printed = output(process)
    assert process.returncode == 3, printed
    assert printed.count("Booting worker") == 1 and "Traceback" not in printed, printed
    return printed


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


def test_a_model_that_cannot_run_stops_start_up(tmp_path):
    """It loads (its hash matches) but has no network to run: the worker never serves."""
    broken = tmp_path / "model.pkl"
    artifact.save(broken, None, classes=[str(i) for i in range(10)], params={}, metrics={})
    assert "the model cannot run" in start_up_failure(broken)


def test_sigterm_while_a_worker_boots_stops_the_server_cleanly(model_path):
    """A deploy stopping a server whose worker is still loading and warming its model up."""
    process, _ = spawn(model_path)
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in output(process):
            assert time.monotonic() < deadline and process.poll() is None, output(process)
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, output(process)
    finally:
        stop(process)
    assert "terminate called" not in output(process) and "Traceback" not in output(process)


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


@pytest.mark.parametrize("name, choices", [("LOG_LEVEL", "debug, info, warning, error, critical"),
                                           ("LOG_FORMAT", "json, text")])
def test_a_setting_out_of_its_choices_stops_the_launcher_with_one_line(name, choices):
    launcher = subprocess.run([sys.executable, "-m", "backend.serve"], cwd=ROOT,
                              env={**os.environ, name: "loud"}, capture_output=True, text=True, timeout=60)
    assert launcher.returncode != 0 and launcher.stdout == ""
    assert launcher.stderr == f"error: environment variable {name} must be one of {choices}, got 'loud'\n"


def test_the_launcher_creates_the_feedback_schema_before_any_worker_starts(model_path, tmp_path):
    """On a new database: the launcher upgrades it once, and the worker only finds the table."""
    url = f"sqlite:///{tmp_path}/feedback.db"
    with running_server(model_path, DATABASE_URL=url) as (process, base):
        assert requests.get(base + "/api/model", timeout=10).json()["feedback"] is True
    printed = output(process)
    assert printed.count("feedback database: migration 0001 applied") == 1, printed
    assert printed.index("migration 0001 applied") < printed.index("Booting worker"), printed


def _newer_database(folder: Path) -> str:
    """An SQLite database a newer release migrated (to a revision this code does not know), as
    found after rolling a deploy back."""
    import sqlite3

    with sqlite3.connect(folder / "newer.db") as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0099')")
    return f"sqlite:///{folder / 'newer.db'}"


@pytest.mark.parametrize("database, shown, reason", [
    ("postgresql://feedback:s3cret@/feedback?host=/nowhere", "postgresql+psycopg://feedback:***@/",
     "connection"),
    ("not a url", "DATABASE_URL (not a database URL)", "Could not parse"),
    ("mysql://feedback:s3cret@db.example/feedback", "mysql://feedback:***@db.example/feedback",
     "No module named"),
    (_newer_database, "sqlite:///", "Can't locate revision identified by '0099'"),
])
def test_a_database_that_cannot_be_used_stops_the_launcher_with_one_line(database, shown, reason,
                                                                         tmp_path):
    url = database(tmp_path) if callable(database) else database
    launcher = subprocess.run([sys.executable, "-m", "backend.serve"], cwd=ROOT, capture_output=True,
                              env={**os.environ, "DATABASE_URL": url}, text=True, timeout=60)
    assert launcher.returncode != 0 and launcher.stdout == ""
    lines = launcher.stderr.splitlines()  # before gunicorn: no worker booted, no traceback
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: the feedback database {shown}"), lines
    assert reason in lines[0] and "s3cret" not in lines[0], lines


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


def test_the_gunicorn_config_follows_the_environment(monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    config = runpy.run_path(str(ROOT / "backend" / "gunicorn.conf.py"))
    assert config["bind"] == "0.0.0.0:9999" and config["workers"] == 3

"""The production server under faults: bad model files, killed workers, slow clients."""

import os
import signal
import socket
import time

import psutil
import pytest
import requests

from tests.imagegen import encode, gradient
from tests.server import running_server, spawn, stop

PNG = encode(gradient(32, 32), "PNG")


def predict(url, timeout=10):
    return requests.post(url + "/api/predict", files={"image": ("x.png", PNG)}, timeout=timeout)


def start_up_failure(model_path) -> str:
    process, _ = spawn(model_path)
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        stop(process)
    assert process.returncode != 0
    return output.decode(errors="replace")


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


def test_slow_clients_do_not_exhaust_the_workers(model_path):
    """Three times more stalled connections than the worker has threads (mostly half-sent
    requests, the slowloris pattern, and some idle ones), yet a normal request is served within
    the bound the timeouts set, and the stalled connections are closed by the server."""
    with running_server(model_path, GUNICORN_THREADS=2, CLIENT_READ_TIMEOUT=1) as (_, url):
        port = int(url.rsplit(":", 1)[1])
        stalled = []
        try:
            for i in range(6):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                if i < 4:
                    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n")
                stalled.append(sock)
            time.sleep(0.5)
            started = time.monotonic()
            assert requests.get(url + "/api/health", timeout=30).status_code == 200
            # idle: gthread's own 5 s wait per connection; half-sent: our 1 s per read; 2 threads
            assert time.monotonic() - started < 12
            for sock in stalled[:4]:
                assert sock.recv(1024) == b""  # closed by the server, not held open
        finally:
            for sock in stalled:
                sock.close()


def test_a_body_that_stalls_gets_408(model_path):
    with running_server(model_path, CLIENT_READ_TIMEOUT=1) as (_, url):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                         b" boundary=b\r\nContent-Length: 5000\r\n\r\n--b\r\n")
            reply = b""
            while b"request_timeout" not in reply and (chunk := sock.recv(4096)):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply


@pytest.mark.parametrize("path", ["/api/health", "/"])
def test_production_server_serves_the_app(model_path, path):
    with running_server(model_path) as (_, url):
        assert requests.get(url + path, timeout=10).status_code == 200
        assert predict(url).json()["predictions"]

"""backend/waitress_worker.py: gunicorn's worker serving with waitress, against hostile and stalled
clients, at shutdown and at a max_requests restart (the production server, the shipped model)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench import attacks
from bench.fixtures import encode
from tests.imagegen import gradient
from tests.server import PeakMemory, running_server, spawn, stop, wait_ready, worker_pid

MB = 1024 * 1024
PNG = encode(gradient(32, 32), "PNG")


def post(url, path, files, timeout=60):
    return requests.post(url + path, files=files, timeout=timeout)


def predict(url, timeout=10):
    return post(url, "/api/predict", {"image": ("x.png", PNG)}, timeout=timeout)


@pytest.fixture(scope="module")
def server(model_path):
    with running_server(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="") as (process, url):
        yield url, worker_pid(process)


def _trickle(port: int, head: bytes, interval: float, done: threading.Event) -> None:
    """Send ``head`` one byte every ``interval`` seconds, reconnecting when the server hangs up."""
    while not done.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for byte in head:
                    if done.wait(interval):
                        return
                    sock.sendall(bytes([byte]))
        except OSError:
            done.wait(interval)


SLOW_HEADERS = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n" * 4
SLOW_BODY = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
             b"Content-Length: 100000\r\n\r\n--b\r\n" + b"x" * 500)


@pytest.mark.parametrize("kind, head", [("headers", SLOW_HEADERS), ("body", SLOW_BODY)])
def test_trickling_clients_do_not_lock_out_normal_users(server, kind, head):
    """16 clients sending a request a byte at a time (slowloris); a normal client's requests
    still succeed, promptly."""
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    done = threading.Event()
    if kind == "body":  # the headers arrive at once, then the body trickles
        head_end = head.index(b"\r\n\r\n") + 4
        tricklers = [threading.Thread(target=_send_then_trickle, args=(port, head[:head_end],
                                                                         head[head_end:], done))
                     for _ in range(16)]
    else:
        tricklers = [threading.Thread(target=_trickle, args=(port, head, 0.5, done)) for _ in range(16)]
    for thread in tricklers:
        thread.start()
    try:
        time.sleep(2)  # every trickler is connected and mid-request
        outcomes = []
        for _ in range(20):
            try:
                outcomes.append(post(url, "/api/predict", {"image": ("x.png", PNG)}, timeout=5)
                                .status_code == 200)
            except requests.RequestException:
                outcomes.append(False)
        assert sum(outcomes) >= 18, outcomes
    finally:
        done.set()
        for thread in tricklers:
            thread.join()


def _send_then_trickle(port, head, body, done):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(head)
            for byte in body:
                if done.wait(0.5):
                    return
                sock.sendall(bytes([byte]))
    except OSError:
        pass


def test_headers_past_32_kb_are_refused(server):
    url, _ = server
    headers = {f"X-Filler-{i}": "a" * 8000 for i in range(5)}
    response = requests.get(url + "/api/health", headers=headers, timeout=5)
    assert response.status_code == 431
    assert requests.get(url + "/api/health", headers=dict(list(headers.items())[:3]), timeout=5).ok


HELD_HEADERS = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 7990) for i in range(3))
HELD_BODY = b"--b\r\n" + b"x" * 500_000


def test_held_connections_cost_a_bounded_amount_of_memory(server):
    """200 clients each send 24 KB of headers and half a megabyte of a body they never finish: the
    worker keeps what a body holds past 64 KB on disk, and a normal client is still served."""
    url, pid = server
    port = int(url.rsplit(":", 1)[1])
    request = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\n" + HELD_HEADERS + b"Content-Type: "
               b"multipart/form-data; boundary=b\r\nContent-Length: 600000\r\n\r\n" + HELD_BODY)
    held = []
    try:
        with PeakMemory(pid) as peak:
            for _ in range(200):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(request)
                held.append(sock)
            time.sleep(1)
            assert post(url, "/api/predict", {"image": ("x.png", PNG)}, timeout=10).status_code == 200
        assert peak.growth < 40 * MB, peak.growth / MB
    finally:
        for sock in held:
            sock.close()




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


def test_a_worker_is_replaced_after_max_requests(model_path):
    """GUNICORN_MAX_REQUESTS: the worker restarts after that many requests (plus gunicorn's jitter,
    up to 50) and every request on a new connection meanwhile is answered."""
    with running_server(model_path, GUNICORN_MAX_REQUESTS=5) as (process, url):
        first = worker_pid(process)
        for _ in range(60):
            assert requests.get(url + "/api/health", timeout=30).status_code == 200
        deadline = time.monotonic() + 30
        while worker_pid_or_none(process) in (first, None):
            assert time.monotonic() < deadline, "the worker was not replaced"
            time.sleep(0.2)
        wait_ready(process, url)
        assert predict(url).status_code == 200


def worker_pid_or_none(process):
    try:
        return worker_pid(process)
    except ValueError:  # between the old worker's exit and the new one's fork
        return None

"""Hostile uploads and hostile clients against the production server (gunicorn + waitress worker,
the shipped model), each asserting the answer, its time and the worker's peak memory.

Peak memory is the worker's VmHWM, reset to its current RSS (``clear_refs``) before each attack.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from bench import attacks
from tests.imagegen import encode, gradient
from tests.server import running_server

MB = 1024 * 1024
PNG = encode(gradient(32, 32), "PNG")


@pytest.fixture(scope="module")
def server(model_path):
    with running_server(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="") as (process, url):
        (worker,) = psutil.Process(process.pid).children()
        yield url, worker.pid


class PeakMemory:
    """The worker's peak RSS growth over a block: VmHWM after minus VmRSS before."""

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


def post(url, path, files, timeout=60):
    return requests.post(url + path, files=files, timeout=timeout)


# Each is a valid image that is huge or slow to decode, in a file far under the byte limits.
REFUSED = {
    "16-bit greyscale PNG 7000x7000": lambda: attacks.png_zeros(7000, 7000, "L16"),
    "RGBA16 PNG 1x39999999": lambda: attacks.png_zeros(1, 39_999_999, "RGBA16"),
    "RGBA8 PNG 6324x6324": lambda: attacks.png_zeros(6324, 6324, "RGBA8"),
    "float32 TIFF 6324x6324": lambda: attacks.tiff_zeros(6324, 6324, sample_format=3),
    "int32 TIFF 6324x6324": lambda: attacks.tiff_zeros(6324, 6324, sample_format=2),
    "progressive JPEG, 10000 scans": lambda: attacks.progressive_jpeg_scans(6324, 6324, 10_000),
    **{name: make for name, (_, make) in attacks.STRUCTURE_ATTACKS.items()},
}
# The most expensive uploads each limit still lets through (README "Limits").
WORST_ALLOWED = {
    "RGBA8 PNG 12 Mpx": lambda: attacks.png_zeros(3500, 3500, "RGBA8"),
    "RGB8 PNG 25 Mpx": lambda: attacks.png_zeros(5000, 5000, "RGB8"),
    "16-bit greyscale PNG 40 Mpx": lambda: attacks.png_zeros(6324, 6324, "L16"),
    "float32 TIFF 12 Mpx": lambda: attacks.tiff_zeros(3500, 3500),
    "palette GIF 11 Mpx": lambda: attacks.encoded_blank(3300, 3300, "GIF", "P"),
    "WebP 6 Mpx": lambda: attacks.encoded_blank(2500, 2500, "WEBP"),
    "progressive JPEG 31 Mpx, 64 scans": lambda: attacks.progressive_jpeg_scans(5600, 5600, 64),
    "baseline JPEG 16 Mpx, a scan per component": lambda: attacks.jpeg_scan_per_component(4000, 4000),
    "TIFF 700x14000, a strip for every row": lambda: attacks.tiff_row_strips(700, 14_000),
    "RLE BMP 1 Mpx, every row ended early": lambda: attacks.bmp_rle_end_of_lines(1000, 1000),
    "PNG, 60,000 empty chunks": lambda: attacks.png_empty_chunks(60_000),
}


def upload_one(server, data):
    """POST one picture; the answer and the worker's time and peak memory for it."""
    url, pid = server
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict", {"image": ("x", data)})
    return response, peak


@pytest.mark.parametrize("name", REFUSED)
def test_huge_images_are_refused_from_the_header(server, name):
    response, peak = upload_one(server, REFUSED[name]())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("image_too_large", "image_aspect_ratio", "invalid_image")
    assert peak.seconds < 2 and peak.growth < 30 * MB, (peak.seconds, peak.growth / MB)


@pytest.mark.parametrize("name", WORST_ALLOWED)
def test_worst_allowed_upload_costs_well_under_200_mb(server, name):
    response, peak = upload_one(server, WORST_ALLOWED[name]())
    assert response.status_code == 200, response.text
    assert peak.seconds < 5 and peak.growth < 150 * MB, (peak.seconds, peak.growth / MB)


def test_a_batch_holds_one_decoded_image_at_a_time(server):
    """8 of the costliest PNG allowed: as many as one batch's decoding allowance (768 MB) takes."""
    url, pid = server
    data = WORST_ALLOWED["RGBA8 PNG 12 Mpx"]()
    files = [("images", (f"{i}.png", data)) for i in range(8)]
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict/batch", files)
    assert response.status_code == 200
    assert all("predictions" in result for result in response.json()["results"])
    assert peak.growth < 200 * MB, peak.growth / MB


def test_a_batch_of_huge_images_is_refused_file_by_file(server):
    url, pid = server
    data = REFUSED["RGBA8 PNG 6324x6324"]()
    with PeakMemory(pid) as peak:
        response = post(url, "/api/predict/batch", [("images", (f"{i}.png", data)) for i in range(16)]
                        + [("images", ("ok.png", PNG))])
    results = response.json()["results"]
    assert [r.get("error", {}).get("code") for r in results[:16]] == ["image_too_large"] * 16
    assert "predictions" in results[16]
    assert peak.seconds < 3 and peak.growth < 50 * MB, (peak.seconds, peak.growth / MB)


def test_a_batch_of_costly_images_stops_after_its_decoding_allowance(server):
    """64 copies of the costliest PNG allowed (a 51 KB file, 0.2 s to decode each) held a thread
    for 14.6 s; the batch now decodes 768 MB worth (8 of them) and answers the rest at once."""
    url, _ = server
    data = WORST_ALLOWED["RGBA8 PNG 12 Mpx"]()
    started = time.monotonic()
    response = post(url, "/api/predict/batch", [("images", (f"{i}.png", data)) for i in range(64)])
    codes = [r.get("error", {}).get("code") for r in response.json()["results"]]
    assert codes == [None] * 8 + ["batch_decode_budget"] * 56
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------- slow clients

def _trickle(port: int, head: bytes, interval: float, stop: threading.Event) -> None:
    """Send ``head`` one byte every ``interval`` seconds, reconnecting when the server hangs up."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for byte in head:
                    if stop.wait(interval):
                        return
                    sock.sendall(bytes([byte]))
        except OSError:
            stop.wait(interval)


SLOW_HEADERS = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n" * 4
SLOW_BODY = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
             b"Content-Length: 100000\r\n\r\n--b\r\n" + b"x" * 500)


@pytest.mark.parametrize("kind, head", [("headers", SLOW_HEADERS), ("body", SLOW_BODY)])
def test_trickling_clients_do_not_lock_out_normal_users(server, kind, head):
    """16 clients sending a request a byte at a time (slowloris); a normal client's requests
    still succeed, promptly."""
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    if kind == "body":  # the headers arrive at once, then the body trickles
        head_end = head.index(b"\r\n\r\n") + 4
        tricklers = [threading.Thread(target=_send_then_trickle, args=(port, head[:head_end],
                                                                         head[head_end:], stop))
                     for _ in range(16)]
    else:
        tricklers = [threading.Thread(target=_trickle, args=(port, head, 0.5, stop)) for _ in range(16)]
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
        stop.set()
        for thread in tricklers:
            thread.join()


def _send_then_trickle(port, head, body, stop):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(head)
            for byte in body:
                if stop.wait(0.5):
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


def _exchange(url: str, request: bytes, read_for: float = 3.0) -> bytes:
    """Send ``request`` on a fresh connection; what the server answers within ``read_for`` s."""
    port = int(url.rsplit(":", 1)[1])
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=read_for) as sock:
        try:
            for start in range(0, len(request), 8192):  # until the server answers (and closes)
                if select.select([sock], [], [], 0.002)[0]:
                    break
                sock.sendall(request[start:start + 8192])
        except OSError:
            pass
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:  # timed out, or reset after the answer
            pass
    return answer


def test_a_chunk_size_line_without_end_is_refused(server):
    """waitress kept a chunk-size line and rescanned it whole on every read: 16 MB of it cost the
    I/O thread 5.9 s. Past 4 KB it is a 400, at once."""
    url, _ = server
    started = time.monotonic()
    answer = _exchange(url, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + b"0" * 100_000)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert time.monotonic() - started < 2.5


def test_an_oversized_body_announced_with_expect_is_refused_without_a_continue(server):
    url, _ = server
    answer = _exchange(url, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n"
                            b"Expect: 100-continue\r\n\r\n", read_for=2.0)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]

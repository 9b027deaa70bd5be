"""backend/waitress_shim.py: its two bounds through the production server, and the tests that say
when to drop it (plain waitress fixed it) or to re-check it (waitress outside the pinned range)."""

from __future__ import annotations

import select
import socket
import threading
import time
import tomllib
from contextlib import contextmanager
from importlib.metadata import version

import pytest
import waitress
from packaging.requirements import Requirement
from waitress import wasyncore

from backend import waitress_shim
from tests.server import ROOT, running_server

CHUNKED = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
ENDLESS_CHUNK_SIZE_LINE = CHUNKED + b"0" * 100_000
ENDLESS_TRAILER = CHUNKED + b"0\r\nX-Trailer: " + b"a" * 100_000
OVERSIZED_WITH_EXPECT = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n"
                         b"Expect: 100-continue\r\n\r\n")


def exchange(port: int, request: bytes, read_for: float = 3.0) -> bytes:
    """Send ``request`` on a fresh connection; what the server answers within ``read_for`` s."""
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


# ------------------------------------------------------------- the bounds, in the real server

@pytest.fixture(scope="module")
def port(model_path):
    with running_server(model_path, RATE_LIMIT="", UPLOAD_RATE_LIMIT="") as (_, url):
        yield int(url.rsplit(":", 1)[1])


def test_a_chunk_size_line_without_end_is_refused(port):
    """waitress keeps a chunk-size line and searches it whole again on every read: megabytes of one
    held the I/O thread for seconds. Past 4 KB it is a 400, at once."""
    started = time.monotonic()
    answer = exchange(port, ENDLESS_CHUNK_SIZE_LINE)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert time.monotonic() - started < 2.5


def test_a_trailer_without_end_is_refused(port):
    """Past the headers' own limit (32 KB) a chunked body's trailer is a 400."""
    answer = exchange(port, ENDLESS_TRAILER)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:100]


def test_an_oversized_body_announced_with_expect_is_refused_without_a_continue(port):
    answer = exchange(port, OVERSIZED_WITH_EXPECT, read_for=2.0)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


# ------------------------------------------------- when to drop the shim, or to re-check it

def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@contextmanager
def serving(create_server):
    """A waitress server built by ``create_server(app, socket_map, [socket], **settings)`` on a free
    loopback port, its loop running in a thread; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    socket_map: dict = {}
    create_server(hello, socket_map, [listener], threads=1, max_request_header_size=32 * 1024,
                  max_request_body_size=1_000_000)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, use_poll=True, count=1)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        wasyncore.close_all(socket_map)


def plain_waitress(application, socket_map, sockets, **settings):
    return waitress.create_server(application, map=socket_map, sockets=sockets, **settings)


@pytest.mark.parametrize("request_", [ENDLESS_CHUNK_SIZE_LINE, ENDLESS_TRAILER],
                         ids=["chunk-size line", "trailer"])
def test_plain_waitress_still_reads_an_endless_chunk_size_line_or_trailer(request_):
    """The day this fails, waitress bounds them itself: drop RequestParser's bound."""
    with serving(plain_waitress) as port:
        assert exchange(port, request_, read_for=1.0) == b""  # still reading
    with serving(waitress_shim.create_server) as port:
        assert exchange(port, request_, read_for=1.0).startswith(b"HTTP/1.1 400")


def test_plain_waitress_still_sends_100_continue_for_a_refused_body():
    """The day this fails, waitress no longer invites a body it refuses: drop the shim's
    ``expect_continue = False``."""
    with serving(plain_waitress) as port:
        assert exchange(port, OVERSIZED_WITH_EXPECT, read_for=1.0).startswith(b"HTTP/1.1 100 Continue")
    with serving(waitress_shim.create_server) as port:
        assert exchange(port, OVERSIZED_WITH_EXPECT, read_for=1.0).startswith(b"HTTP/1.1 413")


def test_the_installed_waitress_is_in_the_range_the_shim_is_tested_with():
    """pyproject.toml pins the range; a waitress installed past it (pip install -U) may have
    changed the classes the shim extends."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "waitress"]
    assert any(spec.operator == "<" for spec in pin.specifier), f"{pin}: a range, with its end"
    assert pin.specifier.contains(version("waitress")), (
        f"waitress {version('waitress')} is outside {pin.specifier}: check backend/waitress_shim.py "
        "against it (tests/backend/test_waitress_shim.py), then move the pin")

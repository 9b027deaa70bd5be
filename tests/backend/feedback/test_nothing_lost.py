"""Nothing acknowledged is lost: a 201 is sent only once the entry and its picture are committed.
8 clients send 200 corrections to the production server (the launcher, 2 gunicorn workers, every
per-client limit off) while one worker is killed with SIGKILL. Only the requests in flight on the
killed worker may fail, and every id answered 201 is in the export exactly once: on SQLite and on
PostgreSQL."""

from __future__ import annotations

import csv
import io
import os
import signal
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from tests.backend.feedback.conftest import DATABASES, new_database
from tests.imagegen import encode, gradient
from tests.server import output, running_server

CLIENTS, FEEDBACKS = 8, 200
KILL_AFTER = 60  # answers: the kill comes with most of the traffic still to send
TOKEN = "operator-token-for-the-tests"
JPEG = encode(gradient(64, 48), "JPEG")
# How a request in flight on a killed worker ends: the connection breaks before an answer.
CUT_OFF = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


def _wait_for_workers(server, count: int, timeout: float = 60) -> None:
    """Both workers have loaded the app (each logs it), so that both take requests."""
    deadline = time.monotonic() + timeout
    while output(server).count("loaded from") < count:
        assert time.monotonic() < deadline, output(server)[-3000:]
        time.sleep(0.1)


@pytest.mark.parametrize("kind", DATABASES)
def test_every_acknowledged_feedback_survives_a_killed_worker(request, kind, model_path, tmp_path):
    url = new_database(request, kind, tmp_path)
    answered: list[str] = []  # ids answered 201
    others: list[int] = []  # any other answer's status
    cut_off: list[str] = []
    lock = threading.Lock()

    def client(base: str) -> None:
        for _ in range(FEEDBACKS // CLIENTS):
            try:  # a new connection each time (requests.post): a failure is a request in flight
                response = requests.post(f"{base}/api/feedback", timeout=60,
                                         files={"image": ("photo.jpg", JPEG)},
                                         data={"label": "dog", "predicted": "deer", "consent": "true"})
            except CUT_OFF as error:
                with lock:
                    cut_off.append(repr(error))
                continue
            with lock:
                if response.status_code == 201:
                    answered.append(response.json()["id"])
                else:
                    others.append(response.status_code)

    with running_server(model_path, WEB_CONCURRENCY=2, RATE_LIMIT="", UPLOAD_RATE_LIMIT="",
                        IMAGE_RATE_LIMIT="", DATABASE_URL=url, FEEDBACK_TOKEN=TOKEN) as (server, base):
        _wait_for_workers(server, 2)
        with ThreadPoolExecutor(CLIENTS) as pool:
            sending = [pool.submit(client, base) for _ in range(CLIENTS)]
            deadline = time.monotonic() + 120
            while len(answered) < KILL_AFTER and time.monotonic() < deadline:
                time.sleep(0.005)
            victim = psutil.Process(server.pid).children()[0].pid
            os.kill(victim, signal.SIGKILL)
            for future in sending:
                future.result()
        exported = requests.get(f"{base}/api/feedback/export", timeout=60,
                                headers={"Authorization": f"Bearer {TOKEN}"})
        assert victim not in [worker.pid for worker in psutil.Process(server.pid).children()]

    print(f"{kind}: {len(answered)} answered 201, {len(cut_off)} cut off with the worker, "
          f"{len(others)} other answers")  # pytest -s shows it
    assert others == [], others
    assert len(answered) + len(cut_off) == FEEDBACKS
    assert len(answered) >= KILL_AFTER
    # Each client has one request at a time: at most one each was in flight on the killed worker.
    assert len(cut_off) <= CLIENTS, cut_off
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    stored = Counter(row["id"] for row in csv.DictReader(io.StringIO(archive.read("feedback.csv").decode())))
    assert [entry for entry in answered if stored[entry] != 1] == []
    assert max(stored.values()) == 1
    # What the killed worker had committed without answering may be there too; nothing else.
    assert len(stored) - len(answered) <= len(cut_off)
    print(f"{kind}: {len(stored)} in the export, every 201 exactly once")

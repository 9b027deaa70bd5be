"""Request ids, structured logs, Prometheus metrics (also across gunicorn workers), liveness vs
readiness."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading

import pytest
import requests

from bench.fixtures import encode, free_port
from tests.conftest import ROOT
from tests.imagegen import gradient
from tests.server import running_server, stop, wait_ready

PNG = encode(gradient(32, 32), "PNG")


def predict(client, data=PNG, **headers):
    return client.post("/api/predict", data={"image": (io.BytesIO(data), "x.png")},
                       content_type="multipart/form-data", headers=headers)


@pytest.fixture()
def json_logs():
    from backend.observability import configure_logging

    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().handlers.clear()


def test_a_clean_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert predict(client, X_Request_ID="abc-123.x").headers["X-Request-ID"] == "abc-123.x"
    for bad in ("has spaces", "x" * 65, "a\u00e9b", ""):
        generated = predict(client, X_Request_ID=bad).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated), generated


def test_every_error_body_carries_the_request_id(client):
    response = predict(client, data=b"not an image", X_Request_ID="req-42")
    assert response.status_code == 415 and response.get_json()["error"]["request_id"] == "req-42"
    missing = client.get("/api/nowhere", headers={"X-Request-ID": "req-43"})
    assert missing.get_json()["error"]["request_id"] == "req-43"


def test_one_json_line_per_request_with_its_id(client, json_logs):
    predict(client, X_Request_ID="req-7")
    files = [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")]
    client.post("/api/predict/batch", data={"images": files}, content_type="multipart/form-data",
                headers={"X-Request-ID": "req-8"})
    lines = [line for line in json_logs() if line["logger"] == "backend.access"]
    single, batch = lines[-2], lines[-1]
    assert single["request_id"] == "req-7" and single["method"] == "POST"
    assert single["path"] == "/api/predict" and single["status"] == 200 and single["images"] == 1
    assert single["duration_ms"] > 0 and single["level"] == "info" and single["time"].endswith("Z")
    assert batch["request_id"] == "req-8" and batch["images"] == 2


def test_errors_are_logged_with_the_same_id(model_path, json_logs):
    from backend import create_app

    app = create_app({"MODEL_PATH": str(model_path), "WARM_UP": "sync"})

    @app.get("/api/_boom")
    def boom():
        raise RuntimeError("kaput")

    response = app.test_client().get("/api/_boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.get_json()["error"]["request_id"] == "req-500"
    error = next(line for line in json_logs() if line["level"] == "error")
    assert error["request_id"] == "req-500" and "kaput" in error["exception"]


def _sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = line[len(name):].split(" ")[0].strip("{}")
            if ",".join(sorted(found.split(","))) == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_images_and_decode_failures(client):
    before = client.get("/metrics").get_data(as_text=True)
    predict(client)
    predict(client, data=b"\x89PNG\r\n\x1a\ntruncated")
    after = client.get("/metrics")
    assert after.status_code == 200 and after.content_type.startswith("text/plain")
    text = after.get_data(as_text=True)
    labels = {"endpoint": "/api/predict", "method": "POST", "status": "200"}
    counted = _sample(text, "http_requests_total", **labels)
    assert counted == _sample(before, "http_requests_total", **labels) + 1
    assert _sample(text, "images_classified_total") == _sample(before, "images_classified_total") + 1
    assert _sample(text, "image_decode_failures_total", code="invalid_image") >= 1
    assert "http_request_duration_seconds_bucket" in text and "model_info{" in text


def test_metrics_can_be_switched_off_or_restricted(model_path):
    from backend import create_app

    off = create_app({"MODEL_PATH": str(model_path), "METRICS": False, "WARM_UP": "sync"}).test_client()
    assert off.get("/metrics").status_code == 404
    locked = create_app({"MODEL_PATH": str(model_path), "METRICS_TOKEN": "s3cret", "WARM_UP": "sync"})
    client = locked.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cr\xe9t"}).status_code == 401
    accented = create_app({"MODEL_PATH": str(model_path), "METRICS_TOKEN": "s3cr\u00e9t", "WARM_UP": "sync"})
    sent = "Bearer s3cr\u00e9t".encode().decode("latin-1")  # the UTF-8 bytes, as WSGI hands them over
    assert accented.test_client().get("/metrics", headers={"Authorization": sent}).status_code == 200


def test_metrics_content_type_has_one_charset(client):
    content_type = client.get("/metrics").headers["Content-Type"]
    assert content_type.count("charset") == 1 and content_type.startswith("text/plain; version=")


def test_any_method_a_client_invents_is_counted_as_other(client):
    for method in ("BREW", "X" * 20_000, "PROPFIND"):
        assert client.open("/api/predict", method=method).status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    methods = set(re.findall(r'http_requests_total\{[^}]*method="([^"]*)"', text))
    assert "other" in methods and methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                              "OPTIONS", "other"}


def test_a_text_log_line_cannot_be_forged_by_a_request_path(client):
    from backend.observability import configure_logging

    stream = io.StringIO()
    configure_logging("text", stream=stream)
    try:
        client.get("/nope%0a2026-01-01 00:00:00,000 CRITICAL backend [x] forged%0d%E2%80%A8")
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "/nope\\n2026-01-01" in lines[0] and "forged\\r\\u2028" in lines[0], lines


def test_ready_is_503_until_the_model_is_warm(model_path, monkeypatch):
    from backend import create_app
    from backend.model import ModelService

    release = threading.Event()
    original = ModelService.warm_up

    def slow_warm_up(self):
        release.wait(30)
        original(self)

    monkeypatch.setattr(ModelService, "warm_up", slow_warm_up)
    client = create_app({"MODEL_PATH": str(model_path), "WARM_UP": "background",
                         "MODEL_WAIT_SECONDS": 0.2, "RATE_LIMIT": ""}).test_client()
    health = client.get("/api/health")
    assert health.status_code == 200 and health.get_json()["model_loaded"] is False
    not_ready = client.get("/api/ready")
    assert not_ready.status_code == 503 and not_ready.headers["Retry-After"]
    assert not_ready.get_json()["error"]["code"] == "model_not_loaded"
    assert predict(client).status_code == 503
    release.set()
    client.application.extensions["classifier"].ready.wait(30)
    assert client.get("/api/ready").get_json()["status"] == "ready"
    assert predict(client).status_code == 200


def test_metrics_add_up_across_two_gunicorn_workers(model_path):
    with running_server(model_path, WEB_CONCURRENCY=2, RATE_LIMIT="") as (_, url):
        session = requests.Session()
        for _ in range(30):  # new connections: the kernel spreads them over both workers
            assert requests.post(url + "/api/predict", files={"image": ("x.png", PNG)}, timeout=10).ok
        texts = [session.get(url + "/metrics", timeout=10).text for _ in range(6)]
        labels = {"endpoint": "/api/predict", "method": "POST", "status": "200"}
        # Whichever worker answers, it reports both workers' counts.
        assert {_sample(text, "http_requests_total", **labels) for text in texts} == {30.0}
        assert {_sample(text, "images_classified_total") for text in texts} == {30.0}


def dev_server_log(model_path, tmp_path, **env) -> str:
    """What ``python -m backend`` prints while it starts and answers a prediction."""
    port = free_port()
    log_path = tmp_path / f"dev-{port}.log"
    variables = {**os.environ, "PORT": str(port), "MODEL_PATH": str(model_path), **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "backend"], cwd=ROOT, env=variables,
                                   stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path  # where tests.server's wait_ready reads the output it shows
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url)
        assert requests.post(url + "/api/predict", files={"image": ("x.png", PNG)}, timeout=10).ok
    finally:
        stop(process)
    return log_path.read_text()


def test_the_development_server_logs_at_log_level(model_path, tmp_path):
    default = dev_server_log(model_path, tmp_path, LOG_LEVEL="")
    assert " INFO backend " in default and " INFO backend.access " in default
    assert " INFO " not in dev_server_log(model_path, tmp_path, LOG_LEVEL="warning")

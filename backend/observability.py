"""What operators see: a request id on every request, one structured log line per request, and
Prometheus metrics at /metrics that add up across gunicorn's worker processes.

- Request ids: a client's ``X-Request-ID`` is kept when it is a plain token (letters, digits,
  ``._:-``, at most 64), otherwise one is generated; it is echoed in the response header, in every
  error body, and in every log line written while the request is handled.
- Logs: ``LOG_FORMAT=json`` (production: gunicorn.conf.py) writes one JSON object per line;
  ``text`` (development) a readable line. Each request ends with one ``request`` line: method,
  path, status, duration, request id, images classified.
- Metrics: prometheus_client in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn
  sets it up), so any worker answers for all of them. ``METRICS=off`` removes the endpoint;
  ``METRICS_TOKEN`` requires ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUEST_ID_HEADER = "X-Request-ID"
# The methods that get a label of their own; any other (a client may send any token, of any length)
# is counted as "other", so that the metrics' label values stay few.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Control characters in a text log line's message (a request path may carry them) are escaped, so
# that a request cannot write a line of its own into the log.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
access_log = logging.getLogger("backend.access")

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram("http_request_duration_seconds", "Time to answer a request", ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
IMAGES = Counter("images_classified_total", "Images the model classified")
DECODE_FAILURES = Counter("image_decode_failures_total", "Uploads refused while decoding", ["code"])
RATE_LIMITED = Counter("rate_limited_requests_total", "Requests answered 429", ["endpoint"])
FEEDBACK = Counter("feedback_total", "Corrections stored (POST /api/feedback)", ["label"])
MODEL = Gauge("model_info", "The model being served (value 1)", ["version", "sha256"],
              multiprocess_mode="max")

bp = Blueprint("observability", __name__)


# ---------------------------------------------------------------- request ids and logs

def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Stamps every log record with the id of the request being handled ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any ``extra``."""

    STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        entry |= {k: v for k, v in vars(record).items() if k not in self.STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, request id, message (control characters escaped)."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL_CHARACTERS.sub(
            lambda match: match.group().encode("unicode_escape").decode("ascii"), record.message)
        return super().formatMessage(record)


def configure_logging(log_format: str = "text", level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        formatter = JsonFormatter()
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    # The route's pattern ("/api/predict", "/api/examples/<name>"): what an operator knows the API
    # by, a bounded set of values, and the same whatever the code's blueprints are called.
    endpoint = request.url_rule.rule if request.url_rule else "unknown"
    if request.endpoint != "observability.metrics":
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        LATENCY.labels(endpoint).observe(seconds)
        if response.status_code == 429:
            RATE_LIMITED.labels(endpoint).inc()
    images = g.get("images_classified", 0)
    if images:
        IMAGES.inc(images)
    access_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code,
                    seconds * 1000, extra={"method": request.method, "path": request.path,
                                           "status": response.status_code,
                                           "duration_ms": round(seconds * 1000, 2), "images": images})
    return response


def count_images(n: int) -> None:
    g.images_classified = g.get("images_classified", 0) + n


def count_decode_failure(code: str) -> None:
    DECODE_FAILURES.labels(code).inc()


def count_feedback(label: str) -> None:
    """One correction stored, by its label (a class of the model or "none": few label values)."""
    FEEDBACK.labels(label).inc()


# ---------------------------------------------------------------- metrics endpoint

@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    # Compared as bytes (compare_digest refuses str beyond ASCII): the header's own bytes (WSGI
    # hands them over as latin-1) against the token's UTF-8.
    sent = request.headers.get("Authorization", "").encode("latin-1", "replace")
    if token and not hmac.compare_digest(sent, f"Bearer {token}".encode()):
        from backend.errors import APIError

        raise APIError("unauthorized", "Metrics need the operator's token.")
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    # content_type, not mimetype: Flask would add a second charset to the one it carries.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask, model_version: str, model_sha256: str) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    MODEL.labels(model_version, model_sha256[:12]).set(1)
    if app.config["METRICS"]:
        app.register_blueprint(bp)

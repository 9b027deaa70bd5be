"""Settings, from the environment (twelve-factor): the same code runs in tests, locally and on
Render. Every setting's default is here and nowhere else: render.yaml and the Makefile set only what
differs from them.

``from_env()``: the app's settings; ``server_from_env()``: how the production server runs (both
keyed by the environment variable's name); ``settings()``: the app's configuration, as create_app
uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ml import SHIPPED_MODEL

ROOT = Path(__file__).resolve().parent.parent
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the top_k field around the files themselves


def _number(name: str, default, kind=int):
    value = os.environ.get(name, "").strip()
    try:
        return kind(value) if value else default
    except ValueError as error:
        what = "an integer" if kind is int else "a number"
        raise RuntimeError(f"environment variable {name} must be {what}, got {value!r}") from error


def _int(name: str, default: int) -> int:
    return _number(name, default, int)


def _float(name: str, default: float) -> float:
    return _number(name, default, float)


def _switch(name: str) -> bool:
    """An on/off setting, on unless it says off (or 0, false, no)."""
    return os.environ.get(name, "on").strip().lower() not in ("off", "0", "false", "no")


def from_env() -> dict:
    upload = _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    batch = _int("MAX_BATCH_BYTES", 64 * 1024 * 1024)
    decode_bytes = _int("MAX_DECODE_BYTES", 96 * 1024 * 1024)
    return {
        "MODEL_PATH": os.environ.get("MODEL_PATH", str(SHIPPED_MODEL)),
        # Optional pinned SHA-256 of the model file: a replaced model (with a recomputed sidecar)
        # is refused. render.yaml pins the shipped one.
        "MODEL_SHA256": os.environ.get("MODEL_SHA256", "").strip(),
        # One file; a batch may carry up to MAX_BATCH_FILES files within MAX_BATCH_BYTES in all.
        "MAX_UPLOAD_BYTES": upload,
        "MAX_BATCH_BYTES": batch,
        # The largest request body the server reads at all (waitress refuses bigger ones unread).
        "MAX_REQUEST_BYTES": max(upload, batch) + FORM_OVERHEAD,
        "MAX_BATCH_FILES": _int("MAX_BATCH_FILES", 64),
        # Decoding cost budget, checked from the header before any pixel is decoded
        # (backend/uploads/guard.py): pixels, bytes of the decoded frame, aspect ratio, JPEG scans,
        # file entries.
        "MAX_IMAGE_PIXELS": _int("MAX_IMAGE_PIXELS", 40_000_000),
        "MAX_DECODE_BYTES": decode_bytes,
        # What the files of one batch may take to decode in all (~2 s of decoding at the worst):
        # the files past it are answered batch_decode_budget, to send in another request.
        "MAX_BATCH_DECODE_BYTES": _int("MAX_BATCH_DECODE_BYTES", 8 * decode_bytes),
        "MAX_ASPECT_RATIO": _float("MAX_ASPECT_RATIO", 20.0),
        "MAX_JPEG_SCANS": _int("MAX_JPEG_SCANS", 64),
        # Entries of a file's structure that Pillow parses one by one (backend/uploads/layout.py).
        "MAX_FILE_ENTRIES": _int("MAX_FILE_ENTRIES", 65_536),
        # Decoding memory all threads of a worker may hold at once (default: one worst-case
        # upload); a decode waits up to DECODE_WAIT_SECONDS for its share, then gets 503.
        "DECODE_MEMORY_BYTES": _int("DECODE_MEMORY_BYTES", decode_bytes),
        "DECODE_WAIT_SECONDS": _float("DECODE_WAIT_SECONDS", 10.0),
        "DEFAULT_TOP_K": _int("DEFAULT_TOP_K", 5),
        # Per-client limit on the predict endpoints (backend/limits.py); empty: no limit.
        # The default lets a person (or the page's live camera, a few frames a second) work freely
        # and cuts a burst of uploads from one address off after 10.
        "RATE_LIMIT": os.environ.get("RATE_LIMIT", "300 per minute; 10 per second"),
        # Megabytes uploaded per client (each started megabyte of a request counts one).
        "UPLOAD_RATE_LIMIT": os.environ.get("UPLOAD_RATE_LIMIT", "200 per minute"),
        # Pictures the network runs per client: a prediction 1, a batch one per file, an
        # explanation 50. The default lets a person explain a photo every few seconds.
        "IMAGE_RATE_LIMIT": os.environ.get("IMAGE_RATE_LIMIT", "1200 per minute"),
        "RATE_LIMIT_STORAGE_URI": os.environ.get("RATE_LIMIT_STORAGE_URI", "memory://"),
        # Reverse proxies in front that add X-Forwarded-For (Render: 1); 0 trusts none.
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", 0),
        # How long a prediction waits for a model that is still warming up (create_app's
        # WARM_UP="background"), then 503.
        "MODEL_WAIT_SECONDS": _float("MODEL_WAIT_SECONDS", 30.0),
        # Prometheus metrics at /metrics ("off" removes the endpoint); a token restricts it.
        "METRICS": _switch("METRICS"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "CORS_ORIGINS": [o.strip() for o in os.environ.get("CORS_ORIGINS", "").split(",") if o.strip()],
        "FRONTEND_DIR": os.environ.get("FRONTEND_DIR", str(ROOT / "frontend")),
        "REPORTS_DIR": os.environ.get("REPORTS_DIR", ""),  # default: the model file's folder
        # One example picture per class, committed with the page (ml/inference/examples.py).
        "EXAMPLES_DIR": os.environ.get("EXAMPLES_DIR", str(ROOT / "frontend" / "examples")),
        # Users' corrections, kept with their pictures to retrain the model (backend/feedback/).
        # "off" removes the /api/feedback endpoints, and the page its "Wrong answer?" button.
        "FEEDBACK": _switch("FEEDBACK"),
        # Where they are kept: an SQLite file (WAL mode) under the git-ignored instance/ folder by
        # default, or postgresql://... (Render's postgres://... too). A local file is lost at every
        # Render deploy: render.yaml passes its PostgreSQL database's URL.
        "DATABASE_URL": os.environ.get("DATABASE_URL", "").strip()
        or f"sqlite:///{ROOT / 'instance' / 'feedback.db'}",
        # The operator's token for the export and for deleting any entry; empty: both are off.
        "FEEDBACK_TOKEN": os.environ.get("FEEDBACK_TOKEN", "").strip(),
        # What the stored pictures may take in all (a 512-pixel JPEG is ~30-80 KB): 256 MB is a
        # quarter of Render's free PostgreSQL (1 GB). Past it a feedback is answered 507.
        "FEEDBACK_MAX_BYTES": _int("FEEDBACK_MAX_BYTES", 256 * 1024 * 1024),
        # Entries older than this are deleted (at start and at each new one); 0 keeps them.
        "FEEDBACK_RETENTION_DAYS": _int("FEEDBACK_RETENTION_DAYS", 365),
    }


# The settings that name a file or folder.
PATH_SETTINGS = ("MODEL_PATH", "REPORTS_DIR", "FRONTEND_DIR", "EXAMPLES_DIR")


# What create_app may be told besides the environment's settings (tests, scripts).
APP_OPTIONS = {
    # "sync": create_app returns a warm model, or raises ArtifactError for one that cannot run:
    # a server's worker then never serves, and gunicorn stops (backend/wsgi.py). "background":
    # create_app returns at once and the model warms up in a thread; /api/health answers
    # meanwhile and /api/ready says 503 until it is warm (backend/model.py).
    "WARM_UP": "sync",
}


def settings(overrides: dict | None = None) -> dict:
    """The app's settings: the environment's, then ``overrides`` (tests, scripts), with every path
    made absolute once, here. A relative path means the working directory the server started in
    (as a shell user expects); Flask's helpers would otherwise take it against the package folder."""
    values = {**APP_OPTIONS, **from_env(), **(overrides or {})}
    values["REPORTS_DIR"] = values["REPORTS_DIR"] or str(Path(values["MODEL_PATH"]).parent)
    for name in PATH_SETTINGS:
        values[name] = absolute(values[name])
    return values


def absolute(path) -> str:
    """A path setting as the server uses it: relative ones against the working directory."""
    return str(Path(path).expanduser().resolve())


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip().lower() or default  # empty: the default, as for numbers
    if value not in (default, *choices):
        raise RuntimeError(f"environment variable {name} must be one of {', '.join(choices)}, "
                           f"got {os.environ[name]!r}")
    return value


def server_from_env() -> dict:
    """How the servers run: backend/gunicorn.conf.py and backend/waitress_worker.py read these,
    and the launcher (backend/serve.py) checks them before it starts anything."""
    return {
        "HOST": os.environ.get("HOST", "127.0.0.1"),
        "PORT": _int("PORT", 8000),
        # Each worker holds its own model (~250 MB RSS; the master ~25 MB).
        "WEB_CONCURRENCY": _int("WEB_CONCURRENCY", 2),
        "GUNICORN_THREADS": _int("GUNICORN_THREADS", 4),
        # A worker whose I/O loop stops for this long is replaced.
        "GUNICORN_TIMEOUT": _int("GUNICORN_TIMEOUT", 30),
        "GUNICORN_MAX_REQUESTS": _int("GUNICORN_MAX_REQUESTS", 0),  # 0: workers are never recycled
        # A connection that sends nothing for this long is closed (a trickling one stays, at the
        # cost of a socket: see CONNECTION_LIMIT).
        "CHANNEL_TIMEOUT": _int("CHANNEL_TIMEOUT", 30),
        # Open connections per worker before it stops accepting more until some close: what they
        # can hold unfinished, ~100 KB each, stays under ~50 MB.
        "CONNECTION_LIMIT": _int("CONNECTION_LIMIT", 500),
        "LOG_LEVEL": _choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical")),
        # "json": one JSON object a line, for a log service; "text": for a person. Empty: json under
        # gunicorn (backend/wsgi.py), text for the development server (backend/__main__.py).
        "LOG_FORMAT": _choice("LOG_FORMAT", "", ("json", "text")),
    }

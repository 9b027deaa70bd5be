"""Settings, from the environment (twelve-factor): the same code runs in tests, locally and on Render."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError as error:
        raise RuntimeError(f"environment variable {name} must be an integer, got {value!r}") from error


def from_env() -> dict:
    upload = _int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    return {
        "MODEL_PATH": os.environ.get("MODEL_PATH", str(ROOT / "models" / "cifar10_cnn.pkl")),
        # One file; a batch may carry up to MAX_BATCH_FILES files within MAX_BATCH_BYTES in all.
        "MAX_UPLOAD_BYTES": upload,
        "MAX_BATCH_BYTES": _int("MAX_BATCH_BYTES", 64 * 1024 * 1024),
        "MAX_BATCH_FILES": _int("MAX_BATCH_FILES", 64),
        # Decompression-bomb guard, checked from the header before any pixel is decoded.
        "MAX_IMAGE_PIXELS": _int("MAX_IMAGE_PIXELS", 40_000_000),
        "DEFAULT_TOP_K": _int("DEFAULT_TOP_K", 5),
        "CORS_ORIGINS": [o.strip() for o in os.environ.get("CORS_ORIGINS", "").split(",") if o.strip()],
        "FRONTEND_DIR": os.environ.get("FRONTEND_DIR", str(ROOT / "frontend")),
        "REPORTS_DIR": os.environ.get("REPORTS_DIR", ""),  # default: the model file's folder
    }

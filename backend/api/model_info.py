"""What the served model is and how well it does: /api/model, and its report figures."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory, url_for

from backend.api.classifier import default_top_k, service
from backend.limits import live_frames_per_second
from backend.schemas import ModelInfoSchema

bp = Blueprint("model", __name__, url_prefix="/api")
REPORT_FILES = {"confusion_matrix": "confusion_matrix.png", "grid_search": "grid_search.png",
                "reliability": "reliability.png"}


def _reports_dir() -> Path:
    return Path(current_app.config["REPORTS_DIR"])


@bp.get("/model")
def info():
    """What the model is and how well it does.
    ---
    get:
      summary: Classes, input size, version, validation accuracy, training parameters, reports.
      responses:
        200:
          description: Model metadata
          content:
            application/json:
              schema: ModelInfoSchema
    """
    model, config = service().model, current_app.config
    reports = {name: url_for("model.report", name=file) if (_reports_dir() / file).is_file() else None
               for name, file in REPORT_FILES.items()}
    return ModelInfoSchema().dump({
        "classes": model.classes,
        "input_size": model.input_size,
        "version": model.version,
        "sha256": model.sha256,
        "accuracy": model.metrics.get("accuracy"),
        "metrics": {k: v for k, v in model.metrics.items() if k != "confusion_matrix"},
        "params": model.params,
        "architecture": model.card.get("architecture"),
        "trained_at": model.card.get("created"),
        "reports": reports,
        "not_sure_threshold": model.not_sure_threshold,
        "calibration": model.calibration,
        "fine_tuning": {key: value for key, value in model.card["outlier_exposure"].items()
                        if key in ("epochs", "learning_rate", "weight", "images")}
        if "outlier_exposure" in model.card else None,
        "limits": {
            "top_k": {"min": 1, "max": len(model.classes), "default": default_top_k()},
            "max_upload_bytes": config["MAX_UPLOAD_BYTES"],
            "max_batch_files": config["MAX_BATCH_FILES"],
            "max_batch_bytes": config["MAX_BATCH_BYTES"],
            "max_image_pixels": config["MAX_IMAGE_PIXELS"],
            "max_decode_bytes": config["MAX_DECODE_BYTES"],
            "max_aspect_ratio": config["MAX_ASPECT_RATIO"],
            "live_frames_per_second": live_frames_per_second(config),
        },
        "feedback": config["FEEDBACK"],
        "max_upload_bytes": config["MAX_UPLOAD_BYTES"],  # the first API version's names
        "max_batch": config["MAX_BATCH_FILES"],
        "default_top_k": default_top_k(),
    })


@bp.get("/model/<any(confusion_matrix.png, grid_search.png, reliability.png):name>")
def report(name):
    """A report figure of the shipped model.
    ---
    get:
      summary: PNG report (confusion matrix or reliability plot on the validation split, or the
        grid-search plot).
      parameters:
        - in: path
          name: name
          required: true
          schema: {type: string, enum: [confusion_matrix.png, grid_search.png, reliability.png]}
      responses:
        200:
          description: The PNG figure
          content:
            image/png: {}
        404:
          description: No such report for this model
          content:
            application/json:
              schema: ErrorSchema
    """
    return send_from_directory(_reports_dir(), name, max_age=3600)

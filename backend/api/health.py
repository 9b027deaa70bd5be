"""Liveness and readiness: /api/health and /api/ready."""

from __future__ import annotations

from flask import Blueprint

from backend.api.classifier import service
from backend.errors import APIError
from backend.schemas import HealthSchema

bp = Blueprint("health", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    """Liveness: the process is up and answering.
    ---
    get:
      summary: "Is the process alive? (It may still be warming the model up: see /api/ready.)"
      responses:
        200:
          description: The process is up
          content:
            application/json:
              schema: HealthSchema
    """
    return HealthSchema().dump({"status": "ok", "model_loaded": service().ready.is_set(),
                                "model_version": service().model.version})


@bp.get("/ready")
def ready():
    """Readiness: the model is loaded, verified and warm.
    ---
    get:
      summary: "Can this instance classify now? Load balancers send traffic only after a 200."
      responses:
        200:
          description: Ready
          content:
            application/json:
              schema: HealthSchema
        503:
          description: Still warming the model up; Retry-After says when to ask again
          content:
            application/json:
              schema: ErrorSchema
    """
    if not service().ready.is_set():
        raise APIError("model_not_loaded", "The model is still loading.", {"retry_after": 1})
    return HealthSchema().dump({"status": "ready", "model_loaded": True,
                                "model_version": service().model.version})

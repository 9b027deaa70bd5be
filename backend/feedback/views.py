"""/api/feedback: send a correction (with consent), withdraw it, export them all (the operator)."""

from __future__ import annotations

import hmac
import tempfile
from datetime import UTC, datetime

from flask import Blueprint, current_app, request, send_file

from backend import limits
from backend.api.classifier import service
from backend.api.forms import read_file, read_uploads
from backend.errors import APIError
from backend.feedback.images import stored_jpeg
from backend.feedback.store import FeedbackStore, StorageFull, token_hash
from backend.observability import count_feedback
from backend.schemas import FeedbackCreatedSchema
from backend.uploads import decode_upload

bp = Blueprint("feedback", __name__, url_prefix="/api/feedback")
NONE = "none"  # the label of "None of these"


def store() -> FeedbackStore:
    return current_app.extensions["feedback"]


@bp.post("")
@limits.requests_budget
@limits.upload_budget
@limits.decoding_budget
def send():
    """Send a correction: the picture as it was classified and its right class.
    ---
    post:
      summary: Keep a picture with its right class, to retrain the model (only with consent).
      description: "What is kept: a JPEG of at most 512 pixels on its longer side made from the
        picture's pixels (no EXIF, no GPS, no other metadata; never the upload itself), the label,
        the predicted class, the model's version and the time. The answer's delete_token
        withdraws it (DELETE /api/feedback/{id}). Rate-limited as /api/predict; 507 once the
        storage cap (FEEDBACK_MAX_BYTES) is reached."
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: FeedbackUploadSchema
      responses:
        201:
          description: Stored (committed) with its picture
          content:
            application/json:
              schema: FeedbackCreatedSchema
        400:
          description: No consent (consent_required), a label that is not a class of the model or
            none (invalid_label), or no file
          content:
            application/json:
              schema: ErrorSchema
        413: PayloadTooLarge
        415: UnsupportedMediaType
        422: InvalidImage
        429: TooManyRequests
        503: ServerBusy
        507: FeedbackStorageFull
    """
    config = current_app.config
    _, (upload,) = read_uploads("image", max_files=1, max_bytes=config["MAX_UPLOAD_BYTES"])
    if request.form.get("consent") != "true":
        raise APIError("consent_required", details={"consent": ["Must be true."]})
    model = service().model
    label, predicted = request.form.get("label", ""), request.form.get("predicted") or None
    if label not in (*model.classes, NONE):
        raise APIError("invalid_label", details={"label": [f"One of {', '.join(model.classes)} or {NONE}."]})
    if predicted is not None and predicted not in model.classes:
        raise APIError("invalid_label", "predicted must be one of the model's classes.",
                       {"predicted": [f"One of {', '.join(model.classes)}."]})
    picture = stored_jpeg(decode_upload(read_file(upload, config["MAX_UPLOAD_BYTES"])))
    try:
        entry_id, delete_token = store().add(image=picture, label=label, predicted=predicted,
                                             model_version=model.version)
    except StorageFull as full:
        raise APIError("feedback_storage_full", details={"max_bytes": full.max_bytes}) from None
    count_feedback(label)
    return FeedbackCreatedSchema().dump({"id": entry_id, "delete_token": delete_token}), 201


@bp.delete("/<entry_id>")
def withdraw(entry_id: str):
    """Withdraw one entry.
    ---
    delete:
      summary: Delete one entry, with its sender's delete_token or the operator's FEEDBACK_TOKEN.
      security:
        - bearer: []
      parameters:
        - in: path
          name: entry_id
          required: true
          schema: {type: string}
          description: The id that sending it answered.
      responses:
        204:
          description: Deleted, picture and all
        401: Unauthorized
        404: FeedbackNotFound
    """
    sent = _bearer_token()
    if sent is None:
        raise APIError("unauthorized", "Send Authorization: Bearer <the delete_token sending it answered>.")
    if _is_operator(sent):
        deleted = store().delete(entry_id)
    else:
        stored = store().delete_token_hash(entry_id)
        if stored is None:
            raise APIError("feedback_not_found")
        if not hmac.compare_digest(token_hash(sent), stored):
            raise APIError("unauthorized", "This token does not delete this entry.")
        deleted = store().delete(entry_id)
    if not deleted:
        raise APIError("feedback_not_found")
    return "", 204


@bp.get("/export")
def export():
    """Every entry, for retraining (python -m ml finetune --feedback export.zip).
    ---
    get:
      summary: A zip of <label>/<id>.jpg and feedback.csv (id, label, predicted, model_version,
        created_at in ISO 8601 UTC). Needs the operator's FEEDBACK_TOKEN; off (404) without one.
      security:
        - bearer: []
      responses:
        200:
          description: The zip
          content:
            application/zip:
              schema: {type: string, format: binary}
        401: Unauthorized
        404: NotFound
    """
    if not current_app.config["FEEDBACK_TOKEN"]:
        raise APIError("not_found", "The export is off: this server has no FEEDBACK_TOKEN.")
    sent = _bearer_token()
    if sent is None or not _is_operator(sent):
        raise APIError("unauthorized", "The export needs the operator's token (FEEDBACK_TOKEN).")
    # On disk: the pictures may be hundreds of megabytes. The response closes it once sent.
    archive = tempfile.TemporaryFile()  # noqa: SIM115
    store().export(archive)
    archive.seek(0)
    name = f"feedback-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>``, as sent. (Werkzeug's request.authorization
    would read a token with an "=" inside as parameters, and lose an operator's token so chosen.)"""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _is_operator(sent: str) -> bool:
    """``sent`` is FEEDBACK_TOKEN (compared in constant time; never when none is set). As bytes:
    the header's own (WSGI hands them over as latin-1) against the token's UTF-8, as /metrics does."""
    token = current_app.config["FEEDBACK_TOKEN"]
    return bool(token) and hmac.compare_digest(sent.encode("latin-1", "replace"), token.encode())

"""The JSON API blueprint: health, model info, single and batch prediction."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
from flask import Blueprint, current_app, g, request, send_from_directory, url_for
from marshmallow import ValidationError
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from backend.config import FORM_OVERHEAD
from backend.errors import APIError
from backend.limits import live_frames_per_second, rate_limited
from backend.observability import count_images
from backend.schemas import (
    BatchResponseSchema,
    ExamplesSchema,
    ExplainResponseSchema,
    HealthSchema,
    ModelInfoSchema,
    PredictFormSchema,
    PredictResponseSchema,
)
from backend.uploads import decode_upload
from ml.inference.examples import read_manifest
from ml.inference.explain import occlusion_corners, occlusion_map

bp = Blueprint("api", __name__, url_prefix="/api")


def _pictures(count):
    """The pictures an upload endpoint's request will run, ``count(files)``, for the rate limit
    (``rate_limited``); none for a form the view will refuse."""
    def pictures() -> int:
        try:
            return count(_uploads()[1])
        except (APIError, HTTPException):
            return 0
    return pictures


REPORT_FILES = {"confusion_matrix": "confusion_matrix.png", "grid_search": "grid_search.png",
                "reliability": "reliability.png"}


def _service():
    return current_app.extensions["classifier"]


def _model():
    return _service().model


def _ready_model():
    """The model, once warm: a request that arrives during warm-up waits for it (a second or
    so), and gets 503 only if it takes longer than MODEL_WAIT_SECONDS."""
    service = _service()
    if not service.ready.wait(current_app.config["MODEL_WAIT_SECONDS"]):
        raise APIError("model_not_loaded", "The model is still loading; please try again in a "
                       "moment.", {"retry_after": 2})
    return service.model


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
    service = _service()
    return HealthSchema().dump({"status": "ok", "model_loaded": service.ready.is_set(),
                                "model_version": service.model.version})


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
    service = _service()
    if not service.ready.is_set():
        raise APIError("model_not_loaded", "The model is still loading.", {"retry_after": 1})
    return HealthSchema().dump({"status": "ready", "model_loaded": True,
                                "model_version": service.model.version})


@bp.get("/model")
def model_info():
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
    model = _model()
    config = current_app.config
    reports = {name: url_for("api.report", name=file) if (_reports_dir() / file).is_file() else None
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
            "top_k": {"min": 1, "max": len(model.classes), "default": _default_top_k()},
            "max_upload_bytes": config["MAX_UPLOAD_BYTES"],
            "max_batch_files": config["MAX_BATCH_FILES"],
            "max_batch_bytes": config["MAX_BATCH_BYTES"],
            "max_image_pixels": config["MAX_IMAGE_PIXELS"],
            "max_decode_bytes": config["MAX_DECODE_BYTES"],
            "max_aspect_ratio": config["MAX_ASPECT_RATIO"],
            "live_frames_per_second": live_frames_per_second(config),
        },
        "max_upload_bytes": config["MAX_UPLOAD_BYTES"],  # the first API version's names
        "max_batch": config["MAX_BATCH_FILES"],
        "default_top_k": _default_top_k(),
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


@bp.get("/examples")
def examples():
    """Example pictures to try, one per class.
    ---
    get:
      summary: One example picture per class (from CIFAR-10's validation split), for a first
        visitor with no picture at hand. The page sends them to /api/predict like any upload.
      responses:
        200:
          description: The examples this server has (none where it was deployed without them)
          content:
            application/json:
              schema: ExamplesSchema
    """
    entries = read_manifest(current_app.config["EXAMPLES_DIR"])
    return ExamplesSchema().dump({"examples": [
        {"label": entry["label"], "url": url_for("api.example", name=entry["file"]),
         "source": entry.get("source"), "credit": entry.get("credit")} for entry in entries]})


@bp.get("/examples/<name>")
def example(name):
    """One example picture.
    ---
    get:
      summary: An example picture listed by /api/examples.
      parameters:
        - in: path
          name: name
          required: true
          schema: {type: string, pattern: '^[A-Za-z0-9_-]+[.][a-z]+$'}
      responses:
        200:
          description: The picture
          content:
            image/jpeg: {}
        404:
          description: No such example
          content:
            application/json:
              schema: ErrorSchema
    """
    folder = current_app.config["EXAMPLES_DIR"]
    # Only the files the manifest lists: nothing else in that folder is served.
    if name not in {entry["file"] for entry in read_manifest(folder)}:
        raise APIError("not_found", "No such example picture. See /api/examples.")
    return send_from_directory(folder, name, max_age=86400)


def _reports_dir() -> Path:
    return Path(current_app.config["REPORTS_DIR"])


def _default_top_k() -> int:
    return max(1, min(current_app.config["DEFAULT_TOP_K"], len(_model().classes)))


def _top_k() -> int:
    """top_k from the query string or the form (once): 1 to the number of classes (published in
    /api/model's limits)."""
    values = request.args.getlist("top_k") + request.form.getlist("top_k")
    if len(values) > 1:
        raise APIError("invalid_top_k", "Send top_k once.", {"top_k": ["Given more than once."]})
    try:
        form = PredictFormSchema().load({"top_k": values[0]} if values else {})
    except ValidationError as error:
        raise APIError("invalid_top_k", "The request is invalid: top_k: "
                       + " ".join(error.messages.get("top_k", [])), error.messages) from None
    top_k, n_classes = form.get("top_k"), len(_model().classes)
    if top_k is None:
        return _default_top_k()
    if not 1 <= top_k <= n_classes:
        raise APIError("invalid_top_k", f"top_k must be between 1 and {n_classes} (the number of "
                       "classes).", {"top_k": [f"Must be between 1 and {n_classes}."]})
    return top_k


def _read(upload: FileStorage, limit: int) -> bytes:
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise _file_too_large(limit)
    return data


def _file_too_large(limit: int) -> APIError:
    """One picture is over MAX_UPLOAD_BYTES (a form's file part, or a body that is the picture)."""
    return APIError("payload_too_large", f"The file is over the {limit / 2**20:.0f} MB limit.",
                    {"max_bytes": limit})


@bp.post("/predict")
@rate_limited(pictures=_pictures(lambda files: 1))
def predict():
    """Classify one image.
    ---
    post:
      summary: Top-k classes of one image, sent as a multipart form or as the request body.
      description: "Send the picture as the multipart field `image`, or as the whole request body
        with an image Content-Type (`image/jpeg`, `image/png`, ...) or `application/octet-stream`:
        `curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg' '.../api/predict?top_k=3'`.
        Either way the format is read from the bytes, not from the header, and the same limits,
        errors and rate limits apply."
      parameters:
        - in: query
          name: top_k
          schema: {type: integer, minimum: 1}
          description: How many classes to return (1 to the number of classes; default 5). A
            multipart form may send it as a field instead, but not both.
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: PredictUploadSchema
          image/*:
            schema: {type: string, format: binary}
          application/octet-stream:
            schema: {type: string, format: binary}
      responses:
        200:
          description: Top-k predictions
          content:
            application/json:
              schema: PredictResponseSchema
        400: BadRequest
        413: PayloadTooLarge
        415: UnsupportedMediaType
        422: InvalidImage
        429: TooManyRequests
        503: ServerBusy
    """
    started = time.perf_counter()
    top_k, upload = _single_upload()
    model = _ready_model()
    probabilities = model.predict_prepared(_prepare(_decode(upload)))[0]
    count_images(1)
    return _reply(PredictResponseSchema, started, top_k, **_answer(model, probabilities, top_k))


@bp.post("/predict/batch")
@rate_limited(pictures=_pictures(len))
def predict_batch():
    """Classify several images at once.
    ---
    post:
      summary: Top-k classes of each of 1-64 images; one bad file does not fail the others.
      parameters:
        - in: query
          name: top_k
          schema: {type: integer, minimum: 1}
          description: How many classes to return for each file (or the form field top_k).
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: BatchUploadSchema
      responses:
        200:
          description: One result per file, in upload order
          content:
            application/json:
              schema: BatchResponseSchema
        400: BadRequest
        413: PayloadTooLarge
        429: TooManyRequests
    """
    started = time.perf_counter()
    config = current_app.config
    top_k, uploads = _uploads()
    model = _ready_model()
    results, inputs, positions = [], [], []
    for position, upload in enumerate(uploads):
        results.append({"filename": upload.filename or ""})
        try:
            # Down to the network's input at once: the batch holds one decoded picture at a time.
            inputs.append(_prepare(_decode(upload, allowance=config["MAX_BATCH_DECODE_BYTES"])))
            positions.append(position)
        except APIError as error:
            results[-1]["error"] = error.to_dict()
    if inputs:
        for position, probabilities in zip(positions, model.predict_prepared(np.concatenate(inputs))):
            results[position].update(_answer(model, probabilities, top_k))
        count_images(len(inputs))
    return _reply(BatchResponseSchema, started, top_k, results=results)


@bp.post("/explain")
@rate_limited(pictures=_pictures(lambda files: 1 + len(occlusion_corners(*_model().input_size[:2]))))
def explain():
    """Why this answer: an occlusion-sensitivity map, and the picture the model saw.
    ---
    post:
      summary: Slide a grey square over the network's 32x32 input (all positions in one batch) and
        report, per pixel, how much covering it lowers the class's probability.
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: ExplainUploadSchema
      responses:
        200:
          description: The map for the requested (or the top) class
          content:
            application/json:
              schema: ExplainResponseSchema
        400: BadRequest
        413: PayloadTooLarge
        415: UnsupportedMediaType
        422: InvalidImage
        429: TooManyRequests
        503: ServerBusy
    """
    started = time.perf_counter()
    _, upload = _single_upload()
    model = _ready_model()
    label = request.form.get("label") or None
    if label is not None and label not in model.classes:
        raise APIError("validation_error", f"label must be one of the model's classes, not {label!r}.",
                       {"label": [f"Must be one of: {', '.join(model.classes)}."]})
    image = _decode(upload)
    result = occlusion_map(model, _prepare(image), label)
    count_images(1)
    return ExplainResponseSchema().dump({
        **result, "input_png": _png_data_url(model.network_input(image)), "model_version": model.version,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)})


def _png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# The upload endpoints' forms: the file field, and the settings that limit its files and bytes.
# /api/predict also takes the picture as the whole request body (RAW_BODY_TYPES).
UPLOAD_FORMS = {
    "api.predict": ("image", None, "MAX_UPLOAD_BYTES"),
    "api.explain": ("image", None, "MAX_UPLOAD_BYTES"),
    "api.predict_batch": ("images", "MAX_BATCH_FILES", "MAX_BATCH_BYTES"),
}


RAW_BODY_ENDPOINTS = ("api.predict",)
RAW_BODY_TYPES = ("image/", "application/octet-stream")


def _raw_body() -> bool:
    """Is this request's body the picture itself (an image type or application/octet-stream)?"""
    return request.endpoint in RAW_BODY_ENDPOINTS and request.mimetype.startswith(RAW_BODY_TYPES)


@bp.before_request
def _limit_upload_form():
    """An upload endpoint's body may be this large (413 beyond). It is read later, once the rate
    limits on requests and megabytes, which need only its length, have counted the request."""
    form = UPLOAD_FORMS.get(request.endpoint)
    if form is not None and request.method == "POST":
        limit = current_app.config[form[2]]
        request.max_content_length = limit if _raw_body() else limit + FORM_OVERHEAD


def _uploads():
    """``top_k`` and the checked files of this request's form, read once: the pictures budget
    reads it first (a batch costs its files), and an error in it is kept and raised again by the
    view. (Flask-Limiter would take an error escaping its check for a failure of its storage.)"""
    if "upload_form" not in g:
        field, files_setting, _ = UPLOAD_FORMS[request.endpoint]
        try:
            g.upload_form = _body() if _raw_body() else _form(
                field, max_files=current_app.config[files_setting] if files_setting else 1)
        except (APIError, HTTPException) as error:
            g.upload_form = error
    if isinstance(g.upload_form, Exception):
        raise g.upload_form
    return g.upload_form


def _single_upload():
    """``top_k`` and the one file of ``image`` (/api/predict, /api/explain)."""
    top_k, (upload,) = _uploads()
    return top_k, upload


def _body():
    """``top_k`` and the picture sent as the request body (``curl --data-binary @photo.jpg``)."""
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _file_too_large(request.max_content_length) from None
    return _top_k(), [FileStorage(io.BytesIO(data), content_type=request.mimetype)]


def _form(field: str, *, max_files: int):
    """``top_k`` and the files of ``field``, after the checks both predict endpoints share."""
    try:
        uploads = request.files.getlist(field)  # parses the whole form, once
    except RequestEntityTooLarge:
        # The body's size, or one of the form parser's own limits: say which limits there are.
        raise APIError("payload_too_large", (
            f"The form is too large: at most {request.max_content_length:,} bytes in all, "
            f"{request.max_form_parts:,} parts, and {request.max_form_memory_size:,} bytes for a "
            "field that is not a file (send each picture as a file part, with a filename)."),
            {"max_request_bytes": request.max_content_length, "max_form_parts": request.max_form_parts,
             "max_form_field_bytes": request.max_form_memory_size}) from None
    top_k = _top_k()
    if not uploads:
        raw = (" or as the request body with an image Content-Type"
               if request.endpoint in RAW_BODY_ENDPOINTS else "")
        raise APIError("missing_file", f"Send the image file(s) as the multipart field '{field}'{raw}.",
                       {"field": field})
    if len(uploads) > max_files:
        hint = " (for several, use /api/predict/batch)" if max_files == 1 else ""
        raise APIError("too_many_files",
                       f"At most {max_files} file(s) per request in '{field}'; got {len(uploads)}{hint}.",
                       {"field": field, "max_files": max_files, "received": len(uploads)})
    return top_k, uploads


def _decode(upload: FileStorage, allowance: int | None = None):
    config = current_app.config
    return decode_upload(_read(upload, config["MAX_UPLOAD_BYTES"]), config,
                         current_app.extensions["decode_memory"], allowance)


def _answer(model, probabilities: np.ndarray, top_k: int) -> dict:
    """One picture's answer: its top-k classes, and whether the model is unsure of all of them
    (the top probability under the model's "Not sure" threshold, chosen when it was calibrated)."""
    return {"predictions": model.top_k(probabilities, top_k),
            "not_sure": bool(probabilities.max() < model.not_sure_threshold)}


def _reply(schema, started: float, top_k: int, **fields):
    return schema().dump({**fields, "top_k": top_k, "model_version": _model().version,
                          "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)})


def _prepare(image):
    try:
        return _model().prepare(image)
    except (ValueError, OSError) as error:  # e.g. a colour mode Pillow cannot convert to RGB
        raise APIError("invalid_image", f"The image cannot be converted for the model ({error}).",
                       {}) from None

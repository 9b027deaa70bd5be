"""Classification: one picture (/api/predict, a form's file or the request body) or several at once
(/api/predict/batch)."""

from __future__ import annotations

import time

import numpy as np
from flask import Blueprint, current_app
from werkzeug.datastructures import FileStorage

from backend import limits
from backend.api.classifier import prepare, ready_model
from backend.api.forms import read_file, read_uploads
from backend.errors import APIError
from backend.observability import count_images
from backend.schemas import BatchResponseSchema, PredictResponseSchema
from backend.uploads import decode_upload

bp = Blueprint("predict", __name__, url_prefix="/api")


@bp.post("/predict")
@limits.requests_budget
@limits.upload_budget
@limits.decoding_budget
def single():
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
    top_k, (upload,) = read_uploads("image", max_files=1, max_bytes=current_app.config["MAX_UPLOAD_BYTES"],
                                    raw_body=True)
    with limits.pictures(1):
        model = ready_model()
        probabilities = model.predict_prepared(prepare(model, _decode(upload)))[0]
    count_images(1)
    return _reply(PredictResponseSchema, model, started, top_k, **_answer(model, probabilities, top_k))


@bp.post("/predict/batch")
@limits.requests_budget
@limits.upload_budget
@limits.decoding_budget
def batch():
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
    top_k, uploads = read_uploads("images", max_files=config["MAX_BATCH_FILES"],
                                  max_bytes=config["MAX_BATCH_BYTES"])
    results, inputs, positions = [], [], []
    with limits.pictures(len(uploads)):
        model = ready_model()
        for position, upload in enumerate(uploads):
            results.append({"filename": upload.filename or ""})
            try:
                # Down to the network's input at once: the batch holds one decoded picture at a time.
                inputs.append(prepare(model, _decode(upload, allowance=config["MAX_BATCH_DECODE_BYTES"])))
                positions.append(position)
            except APIError as error:
                results[-1]["error"] = error.to_dict()
        if inputs:
            for position, probabilities in zip(positions, model.predict_prepared(np.concatenate(inputs))):
                results[position].update(_answer(model, probabilities, top_k))
    count_images(len(inputs))
    return _reply(BatchResponseSchema, model, started, top_k, results=results)


def _decode(upload: FileStorage, allowance: int | None = None):
    return decode_upload(read_file(upload, current_app.config["MAX_UPLOAD_BYTES"]), allowance)


def _answer(model, probabilities: np.ndarray, top_k: int) -> dict:
    """One picture's answer: its top-k classes, and whether the model is unsure of all of them
    (the top probability under the model's "Not sure" threshold, chosen when it was calibrated)."""
    return {"predictions": model.top_k(probabilities, top_k),
            "not_sure": bool(probabilities.max() < model.not_sure_threshold)}


def _reply(schema, model, started: float, top_k: int, **fields):
    return schema().dump({**fields, "top_k": top_k, "model_version": model.version,
                          "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)})

"""Why this answer: /api/explain, an occlusion-sensitivity map and the picture the model saw."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
from flask import Blueprint, current_app, request
from PIL import Image

from backend import limits
from backend.api.classifier import prepare, ready_model, service
from backend.api.forms import read_file, read_uploads
from backend.errors import APIError
from backend.observability import count_images
from backend.schemas import ExplainResponseSchema
from backend.uploads import decode_upload
from ml.inference.explain import occlusion_corners, occlusion_map

bp = Blueprint("explain", __name__, url_prefix="/api")


@bp.post("/explain")
@limits.requests_budget
@limits.upload_budget
@limits.decoding_budget
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
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    _, (upload,) = read_uploads("image", max_files=1, max_bytes=limit)
    # The picture, and each occluded copy of it.
    with limits.pictures(1 + len(occlusion_corners(*service().model.input_size[:2]))):
        model = ready_model()
        label = request.form.get("label") or None
        if label is not None and label not in model.classes:
            raise APIError("validation_error", f"label must be one of the model's classes, not {label!r}.",
                           {"label": [f"Must be one of: {', '.join(model.classes)}."]})
        image = decode_upload(read_file(upload, limit))
        result = occlusion_map(model, prepare(model, image), label)
    count_images(1)
    return ExplainResponseSchema().dump({
        **result, "input_png": _png_data_url(model.network_input(image)), "model_version": model.version,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2)})


def _png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

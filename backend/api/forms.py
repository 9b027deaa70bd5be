"""The upload endpoints' requests, read once the rate limits on requests and megabytes (which need
only the body's length) have counted them: top_k, and the pictures, as the files of a multipart
form's field or (/api/predict) as the whole body."""

from __future__ import annotations

import io

from flask import request
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from backend.api.classifier import default_top_k, service
from backend.config import FORM_OVERHEAD
from backend.errors import APIError
from backend.schemas import PredictFormSchema

# Content types of a body that is the picture itself (``curl --data-binary @photo.jpg``).
RAW_BODY_TYPES = ("image/", "application/octet-stream")


def read_uploads(field: str, *, max_files: int, max_bytes: int,
                 raw_body: bool = False) -> tuple[int, list[FileStorage]]:
    """``top_k`` and the files of ``field`` (1 to ``max_files``, ``max_bytes`` in all, 413 past
    it), or with ``raw_body`` the picture sent as the body with an image type."""
    if raw_body and request.mimetype.startswith(RAW_BODY_TYPES):
        request.max_content_length = max_bytes
        try:
            data = request.get_data(cache=True)
        except RequestEntityTooLarge:
            raise file_too_large(max_bytes) from None
        return top_k(), [FileStorage(io.BytesIO(data), content_type=request.mimetype)]
    request.max_content_length = max_bytes + FORM_OVERHEAD
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
    k = top_k()
    if not uploads:
        raw = " or as the request body with an image Content-Type" if raw_body else ""
        raise APIError("missing_file", f"Send the image file(s) as the multipart field '{field}'{raw}.",
                       {"field": field})
    if len(uploads) > max_files:
        hint = " (for several, use /api/predict/batch)" if max_files == 1 else ""
        raise APIError("too_many_files",
                       f"At most {max_files} file(s) per request in '{field}'; got {len(uploads)}{hint}.",
                       {"field": field, "max_files": max_files, "received": len(uploads)})
    return k, uploads


def top_k() -> int:
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
    value, n_classes = form.get("top_k"), len(service().model.classes)
    if value is None:
        return default_top_k()
    if not 1 <= value <= n_classes:
        raise APIError("invalid_top_k", f"top_k must be between 1 and {n_classes} (the number of "
                       "classes).", {"top_k": [f"Must be between 1 and {n_classes}."]})
    return value


def read_file(upload: FileStorage, limit: int) -> bytes:
    """The bytes of one uploaded file, at most ``limit`` (MAX_UPLOAD_BYTES)."""
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise file_too_large(limit)
    return data


def file_too_large(limit: int) -> APIError:
    """One picture is over MAX_UPLOAD_BYTES (a form's file part, or a body that is the picture)."""
    return APIError("payload_too_large", f"The file is over the {limit / 2**20:.0f} MB limit.",
                    {"max_bytes": limit})

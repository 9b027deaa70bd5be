"""Every error is JSON: {"error": {"code", "message", "details"}} with the right status code."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import ClientDisconnected, HTTPException

from backend.observability import request_id

log = logging.getLogger(__name__)

# The API's error contract, in one place: code -> (HTTP status, default message). Handlers raise
# APIError by code; the OpenAPI document lists these codes (Error.code's enum), and the page has a
# message for each (tests/backend/test_openapi.py and tests/test_frontend_errors.py check both).
ERRORS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "The request is malformed."),
    "validation_error": (400, "The request is invalid."),
    "invalid_top_k": (400, "top_k must be a whole number in the allowed range."),
    "missing_file": (400, "No image file was sent."),
    "too_many_files": (400, "Too many files in one request."),
    "empty_file": (400, "The uploaded file is empty."),
    "consent_required": (400, "Feedback is kept only with consent: send consent=true."),
    "invalid_label": (400, "The label must be one of the model's classes, or none."),
    "unauthorized": (401, "This needs a valid token."),
    "cross_site_request": (403, "Another website's page cannot send pictures here; use this site."),
    "not_found": (404, "No such endpoint. See /api/openapi.json for the API."),
    "feedback_not_found": (404, "No feedback with this id: it was withdrawn, purged or never stored."),
    "method_not_allowed": (405, "This endpoint does not accept that method."),
    "request_timeout": (408, "The upload stalled or was cut off; please try again."),
    "payload_too_large": (413, "The upload is too large."),
    "batch_decode_budget": (413, "This batch took all the decoding one request may before this file; "
                                 "send it in another request."),
    "unsupported_media_type": (415, "This file is not an image we can read."),
    "range_not_satisfiable": (416, "The requested byte range is not in the file."),
    "invalid_image": (422, "The image is corrupt or truncated."),
    "image_too_large": (422, "The image is too large to decode."),
    "image_aspect_ratio": (422, "The picture is too long and thin for the model to see anything in it."),
    "too_many_requests": (429, "Too many requests; please wait a moment and try again."),
    "internal_error": (500, "Something went wrong on our side."),
    "model_not_loaded": (503, "The model is still loading; please try again in a moment."),
    "server_busy": (503, "The server is busy; please try again in a few seconds."),
    "feedback_storage_full": (507, "The feedback storage is full; thank you, no more is being kept for now."),
}
# The codes that stand for a bare HTTP status: what an HTTP error that Flask or Werkzeug raise
# themselves (no route, wrong method, ...) is answered with. Any other status: bad_request, or
# internal_error from 500 on. (The page reads a proxy's answer without the API's body the same way.)
CODE_FOR_STATUS = {ERRORS[code][0]: code for code in (
    "bad_request", "unauthorized", "not_found", "method_not_allowed", "request_timeout",
    "payload_too_large", "unsupported_media_type", "range_not_satisfiable", "too_many_requests",
    "server_busy")}


class APIError(Exception):
    """An error the client can act on, by its code in ERRORS (which gives its status)."""

    def __init__(self, code: str, message: str | None = None, details: dict | None = None):
        self.status, default = ERRORS[code]
        self.code, self.message, self.details = code, message or default, details or {}
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


def error_response(code: str, message: str | None = None, details: dict | None = None):
    status, default = ERRORS[code]
    body = {"code": code, "message": message or default, "details": details or {}}
    if request_id():
        body["request_id"] = request_id()  # quote it when reporting a problem: the logs carry it
    response = jsonify({"error": body})
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(error: APIError):
        response = error_response(error.code, error.message, error.details)
        if "retry_after" in error.details:
            response.headers["Retry-After"] = str(error.details["retry_after"])
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError):
        fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return error_response("validation_error", "The request is invalid: " + _summary(fields), fields)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        code = CODE_FOR_STATUS.get(status, "bad_request" if status < 500 else "internal_error")
        message = {
            "method_not_allowed": f"This endpoint does not accept {request.method}.",
            "too_many_requests": error.description,  # which budget (backend/limits.py)
        }.get(code)
        details = {"allowed_methods": sorted(error.valid_methods)} if getattr(
            error, "valid_methods", None) else {}
        response = error_response(code, message, details)
        response.status_code = status  # also for a status without a code of its own
        if status == 405 and details:
            response.headers["Allow"] = ", ".join(details["allowed_methods"])
        for name, value in error.get_headers():
            if name == "Content-Range":  # a 416 says how long the file is
                response.headers[name] = value
        return response

    @app.errorhandler(ClientDisconnected)
    @app.errorhandler(TimeoutError)
    def _upload_cut_off(error: Exception):
        # The client stopped sending the body it announced or went away. Under gunicorn the
        # waitress worker reads every body completely first, so this answers other servers
        # (python -m backend, a plain WSGI server).
        response = error_response("request_timeout")
        response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")  # the traceback goes to the log, never to the client
        return error_response("internal_error")


def _summary(fields: dict) -> str:
    parts = []
    for name, messages in fields.items():
        text = messages[0] if isinstance(messages, list) and messages else str(messages)
        parts.append(f"{name}: {text}")
    return "; ".join(parts)

"""Every error is JSON: {"error": {"code", "message", "details"}} with the right status code."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import ClientDisconnected, HTTPException

from backend.observability import request_id

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_image",
    429: "too_many_requests",
    503: "server_busy",
}


class APIError(Exception):
    """An error the client can act on."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


def error_response(status: int, code: str, message: str, details: dict | None = None):
    body = {"code": code, "message": message, "details": details or {}}
    if request_id():
        body["request_id"] = request_id()  # quote it when reporting a problem: the logs carry it
    response = jsonify({"error": body})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(error: APIError):
        response = error_response(error.status, error.code, error.message, error.details)
        if "retry_after" in error.details:
            response.headers["Retry-After"] = str(error.details["retry_after"])
        return response

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError):
        fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        code = "invalid_top_k" if "top_k" in fields else "validation_error"
        return error_response(400, code, "The request is invalid: " + _summary(fields), fields)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        message = {
            404: "No such endpoint. See /api/openapi.json for the API.",
            405: f"This endpoint does not accept {_method()}.",
            413: "The upload is too large.",
        }.get(status, error.description or error.name)
        details = {"allowed_methods": sorted(error.valid_methods)} if getattr(
            error, "valid_methods", None) else {}
        response = error_response(status, HTTP_CODES.get(status, "http_error"), message, details)
        if status == 405 and details:
            response.headers["Allow"] = ", ".join(details["allowed_methods"])
        return response

    @app.errorhandler(ClientDisconnected)
    @app.errorhandler(TimeoutError)
    def _upload_cut_off(error: Exception):
        # The client stopped sending the body it announced: it stalled past the per-read timeout
        # (backend/workers.py) or went away.
        response = error_response(408, "request_timeout",
                                  "The upload stalled or was cut off; please try again.")
        response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")  # the traceback goes to the log, never to the client
        return error_response(500, "internal_error", "Something went wrong on our side.")


def _method() -> str:
    from flask import request

    return request.method


def _summary(fields: dict) -> str:
    parts = []
    for name, messages in fields.items():
        text = messages[0] if isinstance(messages, list) and messages else str(messages)
        parts.append(f"{name}: {text}")
    return "; ".join(parts)

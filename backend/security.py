"""Security headers on every response, and CORS only for origins the operator lists."""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

# No inline script or style: everything the page runs is a file we serve.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


def init_security(app: Flask) -> None:
    if app.config["CORS_ORIGINS"]:  # same-origin only unless an allowlist is configured
        CORS(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
             methods=["GET", "POST", "OPTIONS"], max_age=600)

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

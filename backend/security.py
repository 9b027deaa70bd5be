"""Security headers on every response, CORS only for origins the operator lists, and no POSTs
that another website's page makes its visitors' browsers send."""

from __future__ import annotations

from flask import Flask, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.errors import APIError

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
# Over HTTPS only (browsers ignore it over HTTP, RFC 6797): this site is HTTPS for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
# Sec-Fetch-Site values of requests a page of this site (or no page: the address bar, curl, which
# sends none) makes.
OWN_SITE = ("same-origin", "none")


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # The scheme the client used, as the trusted proxies say (Strict-Transport-Security below).
        # The client's address is read by the rate limits' key (backend/limits.py), not here.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=hops)
    allowed_origins = app.config["CORS_ORIGINS"]
    if allowed_origins:  # same-origin only unless an allowlist is configured
        CORS(app, resources={r"/api/*": {"origins": allowed_origins}},
             methods=["GET", "POST", "DELETE", "OPTIONS"], max_age=600)  # DELETE: withdraw feedback

    @app.before_request
    def _refuse_cross_site_posts():
        """A form post (multipart) needs no CORS preflight: any website could make its visitors'
        browsers upload to the API, each visitor a fresh rate-limit budget. Browsers say where a
        request comes from (Sec-Fetch-Site, or at least Origin); clients other than browsers send
        neither and are unaffected."""
        if request.method != "POST":
            return
        origin = request.headers.get("Origin")
        if origin and ("*" in allowed_origins or origin in allowed_origins):
            return
        site = request.headers.get("Sec-Fetch-Site")
        foreign = site not in OWN_SITE if site else bool(origin) and origin != request.host_url.rstrip("/")
        if foreign:
            raise APIError("cross_site_request", details={"origin": origin or ""})

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response

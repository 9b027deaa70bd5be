"""Per-client rate limits on the predict endpoints (Flask-Limiter).

``RATE_LIMIT`` in Flask-Limiter's notation ("300 per minute; 10 per second"; empty turns limits
off) applies to /api/predict and /api/predict/batch together, per client address. Counts live in
each worker's memory unless ``RATE_LIMIT_STORAGE_URI`` points at a shared store (``redis://...``),
which every worker and instance then shares; should that store fail, each worker falls back to
its own memory rather than refusing requests. Health, model info, the docs and the page are never
limited.

Behind a reverse proxy (Render's), every request comes from the proxy's address; with
``TRUSTED_PROXY_HOPS=1`` the client address is taken from the X-Forwarded-For entry that one proxy
added (ProxyFix). Never set it without a proxy: clients could then pick their own address.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix


def rate_limited(view):
    """Mark a view as counted against RATE_LIMIT (the decorator only marks; init_limits enforces)."""
    view.rate_limited = True
    return view


def init_limits(app: Flask) -> Limiter:
    """One Limiter per app (its storage and switch are per app), applied to the marked views with
    one shared budget: a batch is not a way around the single-image limit."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.config["RATELIMIT_ENABLED"] = bool(app.config["RATE_LIMIT"].strip())
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URI"]
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      in_memory_fallback_enabled=True, swallow_errors=True)
    shared = limiter.shared_limit(lambda: app.config["RATE_LIMIT"], scope="predict")
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, "rate_limited", False):
            app.view_functions[endpoint] = shared(view)
    return limiter

"""Per-client rate limits on the predict and explain endpoints (Flask-Limiter).

``RATE_LIMIT`` in Flask-Limiter's notation ("300 per minute; 10 per second") counts requests to
/api/predict, /api/predict/batch and /api/explain together, per client address;
``UPLOAD_RATE_LIMIT`` counts the megabytes they upload ("200 per minute": a 9 MB photo counts 9, a
webcam frame 1), so a client sending big photos as fast as it can is cut off long before one using
the page is; ``IMAGE_RATE_LIMIT`` counts the pictures the network runs for them ("1200 per minute":
a prediction counts 1, a batch one per file, an explanation 50, the picture and its 49 occluded
copies, and each picture one more per 4 MB it takes to decode), so that a batch, an explanation or
a costly file is not a way to get 50 times the work for one request. Empty turns a limit off.
Counts live in each worker's memory unless ``RATE_LIMIT_STORAGE_URI`` points at a shared store
(``redis://...``), which every worker and instance then shares; should that store fail, each worker
falls back to its own memory rather than refusing requests. Health, model info, the docs and the
page are never limited.

Behind a reverse proxy (Render's), every request comes from the proxy's address; with
``TRUSTED_PROXY_HOPS=1`` the client address is taken from the X-Forwarded-For entry that one proxy
added (ProxyFix, splitting the header on commas). Never set it without a proxy: clients could then
pick their own address. An IPv6 client is counted by its /64 network: a subscriber is given one
whole, and could otherwise take a fresh address, and a fresh budget, for every request.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

MEGABYTE = 1024 * 1024


def rate_limited(pictures: Callable[[], int]):
    """Mark a view as counted against the budgets (the decorator only marks; init_limits enforces).
    ``pictures()``: the pictures the network will run for the request, known from the request
    before the view runs, so that they are taken from IMAGE_RATE_LIMIT at once."""
    def mark(view):
        view.rate_limited, view.pictures = True, pictures
        return view
    return mark


def client_key() -> str:
    """Whose budget a request counts against: its address, or an IPv6 address's /64 network."""
    address = get_remote_address()
    if address.startswith("["):  # "[2001:db8::1]:443"
        address = address[1:].partition("]")[0]
    elif address.count(":") == 1:  # "203.0.113.5:5678"
        address = address.partition(":")[0]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:  # an IPv4 client seen through IPv6
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, 64), strict=False))


def uploaded_megabytes() -> int:
    """The upload-volume cost of this request: each started megabyte counts one."""
    return max(1, math.ceil((request.content_length or 0) / MEGABYTE))


# Decoding is work too: a 12-megapixel RGBA PNG (a 51 KB file) takes ~0.2 s to decode, twenty
# predictions' worth. So a picture counts one more against IMAGE_RATE_LIMIT for every
# DECODE_BYTES_PER_PICTURE its decoding takes (ml.images.decode_cost, known from its header): a
# phone photo (a JPEG, decoded at a reduced scale) counts 1 or 2, the costliest upload allowed
# (96 MB) 25. Before, 64 of those in a batch counted 64 and held a thread for 14.6 s.
DECODE_BYTES_PER_PICTURE = 4 * MEGABYTE


def charge_decoding(nbytes: int) -> None:
    """Count a decode of ``nbytes`` (its estimated cost) against this request."""
    g.decode_bytes = decoded_bytes() + nbytes


def decoded_bytes() -> int:
    """What this request's decodes have cost so far."""
    return g.get("decode_bytes", 0)


def decoding_pictures() -> int:
    """What this request's decoding costs against IMAGE_RATE_LIMIT, charged as the answer leaves."""
    return decoded_bytes() // DECODE_BYTES_PER_PICTURE


# The page's live webcam mode sends small frames (a 256-pixel square, well under a megabyte: each
# costs one request and one upload unit). It may use this share of the tightest budget, so a
# person watching the camera can still upload photos, and never more than this many a second.
LIVE_SHARE_OF_LIMIT = 0.75
MAX_LIVE_FRAMES_PER_SECOND = 4.0


def live_frames_per_second(config) -> float:
    """How many frames a second the live webcam mode may send and stay inside every rate limit
    (RATE_LIMIT, UPLOAD_RATE_LIMIT, IMAGE_RATE_LIMIT: a frame is one picture) for as long as it
    runs; published in /api/model's limits."""
    rates = [item.amount / item.get_expiry()
             for text in (config["RATE_LIMIT"], config["UPLOAD_RATE_LIMIT"], config["IMAGE_RATE_LIMIT"])
             if text.strip()
             for item in parse_many(text)]
    return round(min([MAX_LIVE_FRAMES_PER_SECOND, *(LIVE_SHARE_OF_LIMIT * rate for rate in rates)]), 2)


class ForwardedHeaders(ProxyFix):
    """ProxyFix, reading each X-Forwarded-* header by splitting it on commas, as proxies write it.
    (Werkzeug parses them as HTTP lists, which give nothing when the client's own part holds an
    unclosed quote: the request then kept the proxy's address, and counted against a fresh budget
    shared with everyone else behind that proxy.)"""

    def _get_real_value(self, trusted: int, value: str | None) -> str | None:
        if not (trusted and value):
            return None
        values = [entry.strip() for entry in value.split(",")]
        return values[-trusted] if len(values) >= trusted else None


def init_limits(app: Flask) -> Limiter:
    """One Limiter per app (its storage and switch are per app), applied to the marked views with
    shared budgets: a batch is not a way around the single-image limits."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ForwardedHeaders(app.wsgi_app, x_for=hops, x_proto=hops)
    pictures_message = (f"Too many pictures analysed for your address (limit: "
                        f"{app.config['IMAGE_RATE_LIMIT']}; a batch counts each picture, an explanation "
                        "each occluded copy it runs, a costly file its decoding). Please wait a moment "
                        "and try again.")
    budgets = [limit for limit in (
        # requests, each counting one
        (app.config["RATE_LIMIT"], "predict", 1, None, "Too many requests from your address "
         f"(limit: {app.config['RATE_LIMIT']}). Please wait a moment and try again."),
        # upload volume: a photo of 9 MB counts 9, a webcam frame 1
        (app.config["UPLOAD_RATE_LIMIT"], "upload", uploaded_megabytes, None, "Too many megabytes "
         f"uploaded from your address (limit: {app.config['UPLOAD_RATE_LIMIT']} MB). Please wait a "
         "moment and try again."),
        # the network's work, taken before the view runs (several requests at once cannot all
        # pass a check before any is charged), then their decoding as the answer leaves: one
        # budget (the same limit and scope share a count)
        (app.config["IMAGE_RATE_LIMIT"], "pictures", _requested_pictures(app), None, pictures_message),
        (app.config["IMAGE_RATE_LIMIT"], "pictures", decoding_pictures, _always, pictures_message),
    ) if limit[0].strip()]
    app.config["RATELIMIT_ENABLED"] = bool(budgets)
    # A sliding window counter: smooth at a window's edge, and a request refused for costing more
    # than is left (a batch) takes nothing from the budget (a fixed window counts it all the same).
    app.config["RATELIMIT_STRATEGY"] = "sliding-window-counter"
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URI"]

    @app.after_request  # registered first, so it runs after Flask-Limiter's own
    def _retry_after(response):
        """Retry-After only where it means something, and never 0 (a 10-per-second limit's reset
        can be under a second away: clients that honour 0 come straight back for another 429)."""
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        elif response.headers.get("Retry-After") == "0":
            response.headers["Retry-After"] = "1"
        return response

    limiter = Limiter(client_key, app=app, headers_enabled=True,
                      in_memory_fallback_enabled=True, swallow_errors=True)
    decorators = [limiter.shared_limit(value, scope=scope, cost=cost, deduct_when=deduct_when,
                                       error_message=message)
                  for value, scope, cost, deduct_when, message in budgets]
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, "rate_limited", False):
            for decorate in decorators:
                view = decorate(view)
            app.view_functions[endpoint] = view
    return limiter


def _requested_pictures(app: Flask) -> Callable[[], int]:
    """The cost function of the pictures budget: the marked view's ``pictures()``."""
    costs = {endpoint: view.pictures for endpoint, view in app.view_functions.items()
             if getattr(view, "rate_limited", False)}
    return lambda: costs[request.endpoint]()


def _always(response) -> bool:
    return True

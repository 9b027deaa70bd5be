"""Per-client rate limits on the predict and explain endpoints (Flask-Limiter).

Three budgets, per client address, each in Flask-Limiter's notation ("300 per minute; 10 per
second"); an empty setting turns one off:

- ``RATE_LIMIT`` counts requests to /api/predict, /api/predict/batch and /api/explain together;
- ``UPLOAD_RATE_LIMIT`` counts the megabytes they upload ("200 per minute": a 9 MB photo counts 9,
  a webcam frame 1), so a client sending big photos as fast as it can is cut off long before one
  using the page is;
- ``IMAGE_RATE_LIMIT`` counts the pictures the network runs for them ("1200 per minute": a
  prediction counts 1, a batch one per file, an explanation 50, the picture and its 49 occluded
  copies, and each picture one more per 4 MB it takes to decode), so that a batch, an explanation
  or a costly file is not a way to get 50 times the work for one request.

The views carry the budgets as Flask-Limiter's decorators (requests, megabytes, decoding) and take
their pictures with ``pictures(count)`` once they know the count from the parsed request.
Counts live in each worker's memory unless ``RATE_LIMIT_STORAGE_URI`` points at a shared store
(``redis://...``), which every worker and instance then shares; should that store fail, each worker
falls back to its own memory rather than refusing requests. Health, model info, the docs and the
page are never limited.

Behind a reverse proxy (Render's), every request comes from the proxy's address; with
``TRUSTED_PROXY_HOPS=1`` the client address is the X-Forwarded-For entry that one proxy added.
Never set it without a proxy: clients could then pick their own address. An IPv6 client is counted
by its /64 network: a subscriber is given one whole, and could otherwise take a fresh address, and
a fresh budget, for every request.
"""

from __future__ import annotations

import ipaddress
import math

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from limits import parse_many

MEGABYTE = 1024 * 1024


def client_key() -> str:
    """Whose budget a request counts against: its address, or an IPv6 address's /64 network."""
    address = _forwarded_for(current_app.config["TRUSTED_PROXY_HOPS"]) or request.remote_addr or ""
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


def _forwarded_for(hops: int) -> str | None:
    """The X-Forwarded-For entry the ``hops``-th proxy from us added. The header is split on commas,
    as proxies write it: Werkzeug's ProxyFix parses it as an HTTP list, which gives nothing when the
    client's own part holds an unclosed quote, and the request then counted against the proxy's
    address, a fresh budget shared with everyone behind it."""
    entries = [entry.strip() for entry in request.headers.get("X-Forwarded-For", "").split(",")]
    return entries[-hops] if hops and len(entries) >= hops else None


# One limiter, wired to the app by init_app (Flask-Limiter keeps the storage of the app it was last
# initialised with: one app per worker process, as gunicorn runs it).
limiter = Limiter(
    client_key,
    # A sliding window counter: smooth at a window's edge, and a request refused for costing more
    # than is left (a batch) takes nothing from the budget (a fixed window counts it all the same).
    strategy="sliding-window-counter",
    headers_enabled=True,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)


def _setting(name: str):
    return lambda: current_app.config[name].strip()


def _message(what: str, setting: str, note: str = ""):
    return lambda: (f"Too many {what} (limit: {current_app.config[setting]}{note}). Please wait a "
                    "moment and try again.")


def uploaded_megabytes() -> int:
    """The upload-volume cost of this request: each started megabyte counts one."""
    return max(1, math.ceil((request.content_length or 0) / MEGABYTE))


# Decoding is work too: a 12-megapixel RGBA PNG (a 51 KB file) takes ~0.2 s to decode, twenty
# predictions' worth. So a picture counts one more against IMAGE_RATE_LIMIT for every
# DECODE_BYTES_PER_PICTURE its decoding takes (backend.uploads.guard.decode_cost, known from its
# header): a phone photo (a JPEG, decoded at a reduced scale) counts 1 or 2, the costliest upload
# allowed (96 MB) 25.
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


_PICTURES_MESSAGE = _message("pictures analysed for your address", "IMAGE_RATE_LIMIT",
                             "; a batch counts each picture, an explanation each occluded copy it "
                             "runs, a costly file its decoding")

# The budgets the upload views are decorated with, shared by all three: a batch is no way around
# the single-picture limits.
requests_budget = limiter.shared_limit(_setting("RATE_LIMIT"), scope="predict",
                                       error_message=_message("requests from your address", "RATE_LIMIT"))
upload_budget = limiter.shared_limit(_setting("UPLOAD_RATE_LIMIT"), scope="upload", cost=uploaded_megabytes,
                                     error_message=_message("megabytes uploaded from your address",
                                                            "UPLOAD_RATE_LIMIT", " MB"))
# The decoding the request did, charged to the pictures budget as the answer leaves.
decoding_budget = limiter.shared_limit(_setting("IMAGE_RATE_LIMIT"), scope="pictures",
                                       cost=decoding_pictures, deduct_when=lambda response: True,
                                       error_message=_PICTURES_MESSAGE)


# The pictures the network runs for a request, taken before it runs them (several requests at once
# cannot all pass a check before any is charged). The same limit and scope as decoding_budget: one
# count. Its cost is the request's own (``pictures``), so one limit serves every request.
_pictures_budget = limiter.shared_limit(_setting("IMAGE_RATE_LIMIT"), scope="pictures",
                                        cost=lambda: g.pictures, error_message=_PICTURES_MESSAGE)


def pictures(count: int):
    """The pictures budget, for a view that is about to run ``count`` pictures through the network
    (known once it has read the request): ``with pictures(count): ...`` takes them, or answers 429
    (Flask-Limiter's limit used as a context manager)."""
    g.pictures = count
    return _pictures_budget


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
             for text in (config[name] for name in BUDGETS)
             if text.strip()
             for item in parse_many(text)]
    return round(min([MAX_LIVE_FRAMES_PER_SECOND, *(LIVE_SHARE_OF_LIMIT * rate for rate in rates)]), 2)


BUDGETS = ("RATE_LIMIT", "UPLOAD_RATE_LIMIT", "IMAGE_RATE_LIMIT")


def init_app(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URI"]
    # With every budget off, Flask-Limiter is off too, rather than checking empty limits on each request.
    app.config["RATELIMIT_ENABLED"] = any(app.config[name].strip() for name in BUDGETS)

    @app.after_request  # registered before Flask-Limiter's own, so it runs after it
    def _retry_after(response):
        """Retry-After only where it means something, and never 0 (a 10-per-second limit's reset
        can be under a second away: clients that honour 0 come straight back for another 429)."""
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        elif response.headers.get("Retry-After") == "0":
            response.headers["Retry-After"] = "1"
        return response

    limiter.init_app(app)

"""Uploads as the web layer sees them: decoded within the configured limits (``guard``, which
reads a file's structure with ``layout`` first) and a per-worker decoding-memory budget
(``DecodeMemory``), refusals turned into the API's JSON errors."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from flask import Flask, current_app

from backend.errors import APIError
from backend.limits import charge_decoding, decoded_bytes
from backend.observability import count_decode_failure
from backend.uploads.guard import DecodeLimits, decode_within_limits
from ml.images import ImageRejected


class DecodeMemory:
    """The decoding memory a worker may spend at once, shared by its threads: a decode reserves
    its estimated cost first, so several threads decoding big uploads together cannot add up to
    more than the budget. A decode that cannot get its share within ``wait`` seconds is answered
    503 (busy, retry) instead of queueing without end."""

    def __init__(self, budget: int, wait: float = 10.0):
        self.budget, self.wait, self.in_use = budget, wait, 0
        self._changed = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int):
        nbytes = min(nbytes, self.budget)
        with self._changed:
            if not self._changed.wait_for(lambda: self.in_use + nbytes <= self.budget, self.wait):
                raise APIError("server_busy", "The server is busy decoding other large images; "
                               "please try again in a few seconds.", {"retry_after": 5})
            self.in_use += nbytes
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= nbytes
                self._changed.notify_all()


def init_app(app: Flask) -> None:
    app.extensions["decode_memory"] = DecodeMemory(app.config["DECODE_MEMORY_BYTES"],
                                                   app.config["DECODE_WAIT_SECONDS"])


def decode_upload(data: bytes, allowance: int | None = None):
    """The picture in ``data``; its decoding cost is reserved from the worker's DecodeMemory and
    charged to the request's rate limit (``charge_decoding``). With an ``allowance``, a decode that
    would take the request's decoding past it is refused (batch_decode_budget) before it starts."""
    @contextmanager
    def reserve(nbytes: int):
        if allowance is not None and decoded_bytes() + nbytes > allowance:
            raise APIError("batch_decode_budget", details={"max_batch_decode_bytes": allowance})
        with current_app.extensions["decode_memory"].reserve(nbytes):
            charge_decoding(nbytes)
            yield

    try:
        return decode_within_limits(data, DecodeLimits.from_config(current_app.config), reserve)
    except ImageRejected as error:
        count_decode_failure(error.code)
        raise APIError(error.code, error.message, error.details) from None  # its status: ERRORS
    except APIError as error:  # server_busy
        count_decode_failure(error.code)
        raise

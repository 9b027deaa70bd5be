"""gunicorn's gthread worker, plus a bound on how long one read from a client may block.

gthread already hands back connections that send nothing, but a client that sends half a request
and stalls (slowloris) keeps a thread blocked in recv() for ever; a few of them stall the worker.
Here every blocking read gives up after CLIENT_READ_TIMEOUT seconds (default 10): the stalled
connection is closed, or, if the stall happens while the app reads the body, answered with 408.
A legitimate slow upload is unaffected: the limit is per read, not per request.
"""

from __future__ import annotations

import os
import socket

from gunicorn.workers import gthread

CLIENT_READ_TIMEOUT = float(os.environ.get("CLIENT_READ_TIMEOUT", "10"))


class _BoundedReadSocket(socket.socket):
    """A client socket whose 'blocking' mode is a timeout (gthread switches modes as it goes)."""

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(CLIENT_READ_TIMEOUT)
        else:
            super().setblocking(False)


class ThreadWorker(gthread.ThreadWorker):
    def handle(self, conn):
        if not isinstance(conn.sock, _BoundedReadSocket):
            raw = conn.sock
            conn.sock = _BoundedReadSocket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        return super().handle(conn)

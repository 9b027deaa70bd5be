"""gunicorn supervises, waitress serves: ``WaitressWorker``, the gunicorn ``worker_class``
(gunicorn.conf.py) that serves gunicorn's listening sockets with waitress.

Slow clients are why. A thread-per-request worker (gunicorn's gthread) gives a connection to a
thread once its first bytes arrive, and the thread then blocks until the request is complete: a
handful of clients sending a byte every few seconds hold every thread, and normal users wait.
waitress reads each request completely, headers and body, in one asynchronous I/O thread (a body
past INBUF_OVERFLOW is spooled to a temporary file) and only then hands it to a worker thread. A
trickling client costs a socket and a bounded buffer, never a thread; one that sends nothing for
CHANNEL_TIMEOUT seconds is disconnected. backend/waitress_shim.py bounds what waitress's settings
do not.

gunicorn keeps doing what it is good at: forking WEB_CONCURRENCY workers, replacing one that dies,
the heartbeat, signals and graceful restarts. This class is its documented custom-worker API: a
``gunicorn.workers.base.Worker`` whose ``run`` serves until ``alive`` is False (SIGTERM), calling
``notify`` at least every ``timeout`` seconds.
"""

from __future__ import annotations

import os
import time

from gunicorn.workers.base import Worker
from waitress import wasyncore

from backend import waitress_shim
from backend.config import from_env, server_from_env

# The request line and headers together (waitress limits their total): browsers send a few KB;
# 32 KB is nginx's default ceiling. Past it the answer is 431. (gunicorn's limit_request_*
# settings belong to its own HTTP parser, which this worker does not use.)
MAX_REQUEST_HEADER_BYTES = 32 * 1024
# A body is held in memory up to this size, then spooled to a temporary file as it arrives
# (waitress's default is 512 KB a connection).
INBUF_OVERFLOW = 64 * 1024
LOOP_SECONDS = 1.0  # one turn of the I/O loop at most: the heartbeat and SIGTERM are seen as often
# When the worker stops, how long a request that is still arriving may take to arrive: longer, and
# trickling clients would keep a restarting worker from being replaced.
STOP_READ_SECONDS = 2.0


class WaitressWorker(Worker):
    def run(self):
        server = server_from_env()
        socket_map: dict = {}
        listeners = waitress_shim.create_server(
            self._counting(self.wsgi), socket_map, [listener.sock for listener in self.sockets],
            threads=self.cfg.threads, channel_timeout=server["CHANNEL_TIMEOUT"],
            connection_limit=server["CONNECTION_LIMIT"],
            # how often connections past CHANNEL_TIMEOUT are closed
            cleanup_interval=max(1, min(30, server["CHANNEL_TIMEOUT"] // 2)),
            max_request_header_size=MAX_REQUEST_HEADER_BYTES, inbuf_overflow=INBUF_OVERFLOW,
            # No body bigger than the largest the app accepts (a batch) is read at all.
            max_request_body_size=from_env()["MAX_REQUEST_BYTES"], recv_bytes=65536,
            # No Server header; X-Forwarded-For is the app's (TRUSTED_PROXY_HOPS, backend/limits.py).
            ident="", asyncore_use_poll=True, clear_untrusted_proxy_headers=False,
        )
        while self.alive:
            self.notify()
            wasyncore.loop(timeout=LOOP_SECONDS, map=socket_map, use_poll=True, count=1)
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            if self.nr >= self.max_requests:
                self.log.info("autorestarting worker after %d requests", self.nr)
                break
        self._finish(listeners, socket_map)

    def _counting(self, application):
        """The app, counting requests in ``nr`` for gunicorn's max_requests restarts."""
        def counted(environ, start_response):
            self.nr += 1
            return application(environ, start_response)
        return counted

    def _finish(self, listeners, socket_map):
        """Stop accepting (the other workers, or the next one, take new connections); read the
        requests still arriving (for STOP_READ_SECONDS), answer every request read and send the
        answers (for graceful_timeout in all), then stop the threads."""
        for listener in listeners:
            listener.del_channel()  # out of the loop: nothing more is accepted
        started = time.monotonic()
        while True:
            self.notify()
            wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
            waited = time.monotonic() - started
            if waited > self.cfg.graceful_timeout or not any(
                    waitress_shim.busy(channel, reading=waited < STOP_READ_SECONDS)
                    for channel in socket_map.values()):
                break
        listeners[0].task_dispatcher.shutdown(cancel_pending=True, timeout=1)


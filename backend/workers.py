"""gunicorn supervises, waitress serves: a gunicorn worker that runs a waitress server.

Slow clients are the problem this solves. A thread-per-request server (gunicorn's gthread) hands a
connection to a thread as soon as its first bytes arrive, and the thread then blocks until the
request is complete: 16 clients sending headers at a byte every few seconds hold every thread, and
normal users wait (measured: 0 of 6 requests served in 30 s). waitress reads each request
completely, headers and body, in one asynchronous I/O thread (bodies past 64 KB are spooled to a
temporary file) and only then gives it to a worker thread. A trickling client costs a socket and at
most MAX_REQUEST_HEADER_BYTES + INBUF_OVERFLOW of memory, never a thread; one that sends nothing for
CHANNEL_TIMEOUT seconds is disconnected.

gunicorn keeps doing what it is good at: forking WEB_CONCURRENCY workers, restarting one that dies,
the heartbeat, signals and graceful restarts. Everything is configured in gunicorn.conf.py.
"""

from __future__ import annotations

import os
import time

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import BadRequest

from backend.config import from_env, server_from_env

# The request line and headers together (waitress checks only their total): browsers send a few
# KB; 32 KB is nginx's default ceiling. Past it the answer is 431. (gunicorn's own limit_request_*
# settings apply to its HTTP parser, which this worker does not use; with them, as before,
# 827 KB of headers were accepted and 600 such connections held 770 MB.)
MAX_REQUEST_HEADER_BYTES = 32 * 1024
# A body is held in memory up to this size, then spooled to a temporary file as it arrives
# (waitress's default is 512 KB a connection).
INBUF_OVERFLOW = 64 * 1024
POLL_SECONDS = 1.0


# A chunked body's chunk-size lines are a few bytes: waitress keeps an unfinished one, and its
# trailer, whole and rescans them on every read (16 MB of a size line without its end cost the
# I/O thread 5.9 s, 40 MB 28 s). Longer ones are a 400.
MAX_CHUNK_SIZE_LINE = 4096


class BoundedChunkedReceiver(ChunkedReceiver):
    def received(self, s):
        consumed = super().received(s)
        if len(self.control_line) > MAX_CHUNK_SIZE_LINE or len(self.trailer) > MAX_REQUEST_HEADER_BYTES:
            self.error = BadRequest("A chunk-size line or the trailer is too long.")
        return consumed


class RequestParser(HTTPRequestParser):
    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        if isinstance(self.body_rcv, ChunkedReceiver):
            self.body_rcv = BoundedChunkedReceiver(self.body_rcv.buf)


class Channel(HTTPChannel):
    parser_class = RequestParser

    def send_continue(self):
        """No "100 Continue" for a request already refused (a body over the limit): waitress sent
        it, and then read 64 MB of the body before its 413."""
        if self.request.error is None:
            super().send_continue()


class Server(TcpWSGIServer):
    channel_class = Channel


class WaitressWorker(Worker):
    def run(self):
        channels: dict = {}
        cfg = self.cfg
        server = server_from_env()  # CHANNEL_TIMEOUT, CONNECTION_LIMIT: see backend/config.py
        sockets = [listener.sock for listener in self.sockets]
        adjustments = Adjustments(
            sockets=sockets, threads=cfg.threads, channel_timeout=server["CHANNEL_TIMEOUT"],
            connection_limit=server["CONNECTION_LIMIT"],
            # how often connections past CHANNEL_TIMEOUT are closed
            cleanup_interval=max(1, min(30, server["CHANNEL_TIMEOUT"] // 2)),
            # No body bigger than the largest the app accepts (a batch) is read at all: it would be
            # spooled to disk for nothing.
            max_request_header_size=MAX_REQUEST_HEADER_BYTES, inbuf_overflow=INBUF_OVERFLOW,
            max_request_body_size=from_env()["MAX_REQUEST_BYTES"], recv_bytes=65536,
            ident="", asyncore_use_poll=True, clear_untrusted_proxy_headers=False,
        )
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adjustments.threads)
        # What waitress.create_server does for listening sockets it is handed, with our classes.
        application = self._counting(self.wsgi)
        for sock in sockets:
            Server(application, channels, True, sock, dispatcher=dispatcher,
                   adj=adjustments, bind_socket=False,
                   sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()))
        served_before_restart = self.max_requests
        while self.alive:
            self.notify()
            wasyncore.loop(timeout=POLL_SECONDS, map=channels, use_poll=True, count=1)
            if not self.is_parent_alive():
                break
            if dispatcher.active_count == 0 and self.nr >= served_before_restart:
                self.log.info("autorestarting worker after %d requests", self.nr)
                break
        self._drain(dispatcher, channels)

    def _counting(self, application):
        """The app, counting requests for gunicorn's max_requests restarts."""
        def counted(environ, start_response):
            self.nr += 1
            return application(environ, start_response)
        return counted

    def _drain(self, dispatcher, channels):
        """Stop accepting, finish the requests in hand and flush their answers, then stop."""
        for listener in list(channels.values()):
            if getattr(listener, "accepting", False):
                listener.accepting = False  # readable() is now False: nothing more is accepted
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and (dispatcher.active_count or dispatcher.queue or any(
                getattr(channel, "total_outbufs_len", 0) for channel in channels.values())):
            self.notify()
            wasyncore.loop(timeout=0.1, map=channels, use_poll=True, count=1)
        dispatcher.shutdown(cancel_pending=True, timeout=1)

    def is_parent_alive(self) -> bool:
        if self.ppid != os.getppid():
            self.log.info("Parent changed, shutting down: %s", self)
            return False
        return True

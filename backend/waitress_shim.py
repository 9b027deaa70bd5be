"""waitress, bounded where no waitress setting bounds it. Tested with waitress >=3.0.2,<3.1, the
range pyproject.toml pins.

waitress bounds the request line and headers (max_request_header_size), the body
(max_request_body_size) and idle connections (channel_timeout) by configuration. Two things no
setting bounds, and which this module adds:

1. A chunked body's chunk-size line and its trailer. waitress keeps an unfinished one whole and
   searches all of it again on every read (its receiver.py has the limits only as comments,
   ``max_control_line``, ``max_trailer``): a client sending megabytes of one size line holds the
   I/O thread, which serves every connection, for seconds. Past MAX_CHUNK_LINE_BYTES (a size line)
   or max_request_header_size (the trailer) the request is a 400.
2. "100 Continue" for a request already refused. For a body announced over
   max_request_body_size, HTTPChannel.send_continue invites the client to send it and sets the
   request going again, so the whole body is read before the 413. A refused request gets no
   "100 Continue"; its 413 goes out at once.

tests/backend/test_waitress_shim.py fails when the installed waitress is outside that range, and
when plain waitress stops needing either fix: then drop that fix (and this module with the last one).
Upstream, both belong in HTTPRequestParser: a bound on ChunkedReceiver's control line and trailer,
and no ``expect_continue`` once ``error`` is set.
"""

from __future__ import annotations

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import BadRequest

# A chunk-size line is a few hex digits and, rarely, an extension: 4 KB is generous.
MAX_CHUNK_LINE_BYTES = 4096


class RequestParser(HTTPRequestParser):
    def received(self, data):
        consumed = super().received(data)
        body = self.body_rcv
        if not self.completed and isinstance(body, ChunkedReceiver) and (
                len(body.control_line) > MAX_CHUNK_LINE_BYTES
                or len(body.trailer) > self.adj.max_request_header_size):
            self.error = BadRequest("A chunk-size line or the trailer is too long.")
            self.completed = True
        if self.error:
            self.expect_continue = False  # the channel then sends the error, not "100 Continue"
        return consumed


class Channel(HTTPChannel):
    parser_class = RequestParser


class Server(TcpWSGIServer):
    channel_class = Channel


def create_server(application, socket_map: dict, sockets: list, **settings) -> list[Server]:
    """What ``waitress.create_server(application, map=socket_map, sockets=sockets, **settings)``
    does for TCP sockets it is handed, with the classes above: one Server a socket, sharing one
    pool of ``threads``, all in ``socket_map`` for ``wasyncore.loop``."""
    adjustments = Adjustments(sockets=sockets, **settings)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adjustments.threads)
    return [Server(application, socket_map, True, sock, dispatcher=dispatcher, adj=adjustments,
                   bind_socket=False, sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()))
            for sock in sockets]


def busy(channel, *, reading: bool) -> bool:
    """What a stopping worker waits for on a connection: a request read and not yet answered, an
    answer not yet sent, or (``reading``) a request still arriving."""
    return bool(getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
                or (reading and getattr(channel, "request", None) is not None))

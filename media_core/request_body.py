"""Reading a large request body into one reused buffer.

`request.read(n)` returns a new bytes object each time, and under gunicorn every byte is
copied up to four more times after `recv()` on its way there (into the unreader's
BytesIO and out of it, into the body's BytesIO and out again). For a 2 GiB upload those
copies and the fresh buffers they need cost the worker about a fifth of its CPU
(bench/upload.py). So when gunicorn serves a body with a Content-Length over a blocking
socket, the body is received straight from that socket into one reused buffer; anywhere
else (daphne, Django's test client, chunked bodies, other servers) it is read with
`request.read()`.
"""

from __future__ import annotations

import socket

try:
    from gunicorn.http.body import Body as _GunicornBody
    from gunicorn.http.body import LengthReader as _GunicornLengthReader
    from gunicorn.http.unreader import SocketUnreader as _GunicornSocketUnreader
except ImportError:  # gunicorn is not installed: every body is read by request.read()
    _GunicornBody = _GunicornLengthReader = _GunicornSocketUnreader = None


class RequestBody:
    """The body through `request.read()`: what every server offers."""

    def __init__(self, request, size: int):
        self._request = request
        self._size = size

    def read(self) -> memoryview:
        """The next piece of the body (empty at its end), valid until the next call.

        Raises UnreadablePostError or OSError when the connection fails."""
        return memoryview(self._request.read(self._size))


class SocketBody:
    """The body received from gunicorn's socket into one buffer.

    Takes over where gunicorn's own readers stand: what they already read ahead from
    the socket is handed out first, and their count of the bytes still to come is kept
    current, so gunicorn finds the body consumed (or knows it failed) afterwards.
    """

    def __init__(self, body, size: int):
        self._body = body
        self._reader = body.reader
        self._unreader = body.reader.unreader
        self._sock: socket.socket = self._unreader.sock
        self._buffer = memoryview(bytearray(size))
        self._ahead = self._take_read_ahead()

    def _take_read_ahead(self) -> bytes:
        # Body.buf holds bytes already taken from the reader (normally none: nothing
        # reads an upload's body before the view); the unreader's buffer holds what
        # came with the headers, possibly beyond this body (a pipelined request).
        taken = self._body.buf.getvalue()
        self._body.buf.seek(0)
        self._body.buf.truncate()
        buffered = self._unreader.buf.getvalue()
        self._unreader.buf.seek(0)
        self._unreader.buf.truncate()
        mine = buffered[:self._reader.length]
        if len(buffered) > len(mine):
            self._unreader.unread(buffered[len(mine):])
        self._reader.length -= len(mine)
        return taken + mine

    def read(self) -> memoryview:
        """The next piece of the body (empty at its end), valid until the next call.

        Raises OSError when the connection fails; a connection closed early ends the
        body short."""
        if self._ahead:
            ahead, self._ahead = self._ahead, b""
            return memoryview(ahead)
        wanted = min(len(self._buffer), self._reader.length)
        if wanted <= 0:
            return self._buffer[:0]
        try:
            received = self._sock.recv_into(self._buffer, wanted)
        except OSError:
            self._body.failed = True  # the connection's position is unknown: close it
            raise
        if not received:
            self._body.failed = True
        self._reader.length -= received
        return self._buffer[:received]


def open_body(request, size: int) -> RequestBody | SocketBody:
    """A reader of the request body in pieces of at most `size` bytes."""
    body = request.META.get("wsgi.input")
    sock = request.META.get("gunicorn.socket")
    untouched = getattr(request, "_read_started", True) is False  # nothing read it yet
    if (untouched and _GunicornBody is not None and type(body) is _GunicornBody
            and type(body.reader) is _GunicornLengthReader
            and type(body.reader.unreader) is _GunicornSocketUnreader
            and body.reader.unreader.sock is sock and isinstance(sock, socket.socket)
            and sock.gettimeout() != 0.0):  # a non-blocking socket would need a poller
        request.read(0)  # Django now knows the body is being read (request.body refuses)
        return SocketBody(body, size)
    return RequestBody(request, size)

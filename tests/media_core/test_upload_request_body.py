"""An upload's body is received from gunicorn's socket into one buffer, and read through
Django everywhere else."""

from __future__ import annotations

import socket
import threading

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http.request import RawPostDataException
from django.test import RequestFactory
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from media_core.request_body import RequestBody, SocketBody, open_body


@pytest.fixture
def connection():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def gunicorn_request(sock: socket.socket, length: int, read_ahead: bytes = b"") -> WSGIRequest:
    """A request as gunicorn's sync worker builds it: the headers parsed, and whatever
    arrived with them held back in the unreader."""
    unreader = SocketUnreader(sock)
    unreader.unread(read_ahead)
    body = Body(LengthReader(unreader, length))
    environ = RequestFactory().generic("PATCH", "/upload/x/y", b"").environ
    return WSGIRequest({**environ, "wsgi.input": body, "gunicorn.socket": sock,
                        "CONTENT_LENGTH": str(length)})


def send_later(sock: socket.socket, data: bytes, *, close: bool = False) -> None:
    """Sends from another thread: a socket pair buffers less than the bodies here."""
    def send():
        sock.sendall(data)
        if close:
            sock.close()

    threading.Thread(target=send, daemon=True).start()


def read_all(body) -> bytes:
    pieces = []
    while piece := body.read():
        pieces.append(bytes(piece))  # a piece is valid only until the next read
    return b"".join(pieces)


def test_it_takes_what_came_with_the_headers_then_the_socket_and_leaves_the_next_request(connection):
    server, client = connection
    data = bytes(range(256)) * 4000
    request = gunicorn_request(server, len(data), read_ahead=data[:5000])
    send_later(client, data[5000:] + b"GET /next HTTP/1.1\r\n\r\n")

    body = open_body(request, 64 * 1024)

    assert isinstance(body, SocketBody)
    assert read_all(body) == data
    gunicorn_body = request.META["wsgi.input"]
    assert gunicorn_body.reader.length == 0 and not gunicorn_body.failed
    assert gunicorn_body.reader.unreader.read(22) == b"GET /next HTTP/1.1\r\n\r\n"


def test_a_request_pipelined_behind_a_small_body_stays_with_gunicorn(connection):
    server, _ = connection
    request = gunicorn_request(server, 4, read_ahead=b"abcdGET /next HTTP/1.1\r\n\r\n")

    body = open_body(request, 64 * 1024)

    assert read_all(body) == b"abcd"
    assert request.META["wsgi.input"].reader.unreader.read(22) == b"GET /next HTTP/1.1\r\n\r\n"


def test_a_connection_closed_early_ends_the_body_short_and_is_not_reused(connection):
    server, client = connection
    request = gunicorn_request(server, 1_000_000, read_ahead=b"x" * 100)
    send_later(client, b"y" * 300_000, close=True)

    body = open_body(request, 64 * 1024)

    assert read_all(body) == b"x" * 100 + b"y" * 300_000
    assert request.META["wsgi.input"].failed


def test_django_refuses_the_body_once_it_is_read_from_the_socket(connection):
    server, _ = connection
    request = gunicorn_request(server, 3, read_ahead=b"abc")

    open_body(request, 1024)

    with pytest.raises(RawPostDataException):
        _ = request.body


def test_a_body_django_has_already_read_is_read_through_django(connection):
    server, client = connection
    request = gunicorn_request(server, 3, read_ahead=b"abc")
    assert request.body == b"abc"

    body = open_body(request, 1024)

    assert isinstance(body, RequestBody)
    assert read_all(body) == b"abc"


def test_other_servers_bodies_are_read_through_django():
    request = RequestFactory().generic("PATCH", "/upload/x/y", b"q" * 100_000)

    body = open_body(request, 4096)

    assert isinstance(body, RequestBody)
    assert read_all(body) == b"q" * 100_000


def test_a_non_blocking_socket_is_left_to_gunicorn(connection):
    server, client = connection
    server.setblocking(False)
    request = gunicorn_request(server, 3, read_ahead=b"abc")

    assert isinstance(open_body(request, 1024), RequestBody)

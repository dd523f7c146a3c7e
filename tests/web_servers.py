"""Real HTTP servers on loopback addresses, for the tests of outbound requests.

All of 127.0.0.0/8 is loopback on Linux, so a test can run servers on 127.0.0.2,
127.0.0.3, ... and allow exactly one of them while 127.0.0.1 stays refused. Every
server counts the requests it sees, so a test can prove that one was never reached.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


class WebServer:
    def __init__(self, host: str = "127.0.0.2", port: int = 0,
                 tls: ssl.SSLContext | None = None):
        self.routes: dict[str, Handler] = {}
        self.requests: list[dict] = []
        self.released = threading.Event()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's naming
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    send(self, 404, b"not found")
                else:
                    route(self)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def hits(self) -> int:
        return len(self.requests)

    def url(self, path: str, *, scheme: str = "http", host: str | None = None) -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def stop(self) -> None:
        self.released.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- what a path answers ----------------------------------------------------------
    def file(self, path: str, data: bytes, *, content_length: bool = True) -> None:
        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "video/mp4")
            if content_length:
                request.send_header("Content-Length", str(len(data)))
            else:
                # The end of the body is the end of the connection.
                request.send_header("Connection", "close")
                request.close_connection = True
            request.end_headers()
            request.wfile.write(data)

        self.routes[path] = handler

    def page(self, path: str, html: str) -> None:
        body = html.encode()

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "text/html; charset=utf-8")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

        self.routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(status)
            request.send_header("Location", location)
            request.send_header("Content-Length", "0")
            request.end_headers()

        self.routes[path] = handler

    def status(self, path: str, status: int) -> None:
        self.routes[path] = lambda request: send(request, status, b"no")

    def hang(self, path: str) -> None:
        """Accept the request and never answer (until the server stops)."""
        self.routes[path] = lambda request: self.released.wait(30)

    def trickle(self, path: str, data: bytes, *, pieces: int, pause: float,
                stop_after: int | None = None) -> None:
        """Send `data` in `pieces` with a pause between them; with `stop_after`, close
        the connection after that many pieces, short of the announced length."""

        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            size = -(-len(data) // pieces)
            for i in range(pieces):
                if stop_after is not None and i == stop_after:
                    request.close_connection = True
                    return
                request.wfile.write(data[i * size:(i + 1) * size])
                request.wfile.flush()
                if i < pieces - 1:
                    time.sleep(pause)

        self.routes[path] = handler


def send(request: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    request.send_response(status)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


@contextmanager
def web_servers() -> Iterator[Callable[..., WebServer]]:
    """Start servers with `start(host, port=0)`; all of them stop at the end."""
    started: list[WebServer] = []

    def start(host: str = "127.0.0.2", port: int = 0, **kwargs) -> WebServer:
        server = WebServer(host, port, **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> dict[str, int]:
    """Resolve the given names to the given addresses, one answer per lookup (the last
    one repeats); every other name resolves as usual. Returns the lookup counts.

    A DNS server we don't run is a true boundary: this is how a name that changes its
    answer between two lookups (DNS rebinding) is made.
    """
    real = socket.getaddrinfo
    lookups: dict[str, int] = dict.fromkeys(answers, 0)

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, family, type, proto, flags)
        sequence = answers[name]
        address = sequence[min(lookups[name], len(sequence) - 1)]
        lookups[name] += 1
        return real(address, port, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups

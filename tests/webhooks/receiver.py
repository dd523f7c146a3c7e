"""A webhook receiver on a loopback address: records every POST, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers the next status of `script` to each POST, then `default`.

    `headers` are added to every answer (e.g. Retry-After); `location` makes a 3xx
    answer point somewhere.
    """

    def __init__(self, host: str = "127.0.0.2"):
        self.script: list[int] = []
        self.default = 200
        self.headers: dict[str, str] = {}
        self.delay = 0.0  # seconds to think before answering
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else receiver.default
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "status": status,
                                              "received_at": time.time()})
                answer = b'{"received": true}' if status < 300 else b"receiver says no"
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def delivered(self) -> list[dict]:
        """The requests answered with a 2xx."""
        return [r for r in self.requests if 200 <= r["status"] < 300]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def receiver(host: str = "127.0.0.2") -> Iterator[Receiver]:
    server = Receiver(host)
    try:
        yield server
    finally:
        server.stop()

"""URL import: fetch an asset's original into storage through the outbound guard.

The body streams from the socket into storage (never whole in memory), counted as it
goes, so the size limit holds even when the server's Content-Length is missing or
wrong. Whatever stops a fetch, the partial file is deleted.
"""

from __future__ import annotations

import io
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus

from django.conf import settings
from django.core.files import File

from foundation import outbound
from media_core import storage

from .errors import MediaError

log = logging.getLogger("kino.processing")

PROGRESS_INTERVAL = 1.0

Progress = Callable[[int, int | None], None]


class InputUnavailable(Exception):
    """The URL could not be fetched this time (no answer, a timeout, a 5xx): try again."""

    code = "input_unavailable"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def allowed_networks() -> tuple[outbound.IPNetwork, ...]:
    return outbound.parse_networks(settings.URL_IMPORT_ALLOWED_NETWORKS)


def check_input(url: str) -> None:
    """The request-time check: scheme, host, and where the host resolves to now.

    Raises outbound.OutboundRefused or outbound.OutboundUnavailable (not resolvable).
    """
    outbound.check_url(url, allowed_networks=allowed_networks())


def refusal_message(exc: outbound.OutboundRefused) -> str:
    """What to tell the client whose URL the guard refused."""
    if exc.reason == "address":
        verb = "redirected to" if exc.redirected else "points to"
        return f"The URL {verb} a private or local address; only public addresses can be imported."
    if exc.reason == "scheme":
        where = "The URL redirected to a URL that is not" if exc.redirected else "The URL must be"
        return f"{where} http or https."
    return "The URL has no host." if not exc.redirected else "The URL redirected to a URL without a host."


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class _Body(io.RawIOBase):
    """A file-like view of the response body for Storage.save, counting as it reads."""

    def __init__(self, chunks: Iterator[bytes], *, total: int | None, max_bytes: int,
                 on_progress: Progress, deadline: float):
        self._chunks = chunks
        self._pending = b""
        self._total = total
        self._max_bytes = max_bytes
        self._on_progress = on_progress
        self._deadline = deadline
        self._last_report = time.monotonic()
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._take(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _take(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self._max_bytes:
            raise MediaError("input_too_large",
                             f"The file at the URL is larger than the limit of "
                             f"{_size(self._max_bytes)}.")
        now = time.monotonic()
        if now > self._deadline:
            raise MediaError("processing_timeout", "Downloading took longer than the time limit.")
        if now - self._last_report >= PROGRESS_INTERVAL:
            self._last_report = now
            self._on_progress(self.received, self._total)
        self._pending = chunk


def fetch_to_storage(*, url: str, folder: str, max_bytes: int, on_progress: Progress,
                     ca_certs: str | None = None) -> tuple[str, int]:
    """Download `url` into `folder` in storage; returns (storage name, size).

    `on_progress(received, total)` is called at the start, at most once a second while
    bytes arrive, and at the end; `total` is None when the server does not say. It may
    raise to stop the download. Raises MediaError for what retrying will not change
    (refused, 4xx, too large, empty) and InputUnavailable for what it may.
    """
    name = f"{folder}/master-{secrets.token_hex(8)}"
    done = False
    try:
        stored, size = _download(url, name, max_bytes, on_progress, ca_certs)
        done = True
        return stored, size
    except outbound.OutboundRefused as exc:
        log.info("import refused: %s", exc.message)
        raise MediaError("input_refused", refusal_message(exc)) from exc
    except outbound.OutboundTooManyRedirects as exc:
        raise MediaError("input_unavailable", f"The URL could not be fetched: {exc.message}") from exc
    except outbound.OutboundHTTPError as exc:
        status = _status_text(exc.status)
        if exc.transient:
            raise InputUnavailable(
                f"The URL could not be fetched: the server answered {status}.") from exc
        raise MediaError("input_unavailable",
                         f"The URL answered {status}; check that it is public and still valid.") from exc
    except outbound.OutboundUnavailable as exc:
        raise InputUnavailable(f"The URL could not be fetched: {exc.message}") from exc
    finally:
        if not done:
            discard(name, folder)


def _download(url: str, name: str, max_bytes: int, on_progress: Progress,
              ca_certs: str | None) -> tuple[str, int]:
    deadline = time.monotonic() + settings.PROCESSING_TIMEOUT_SECONDS
    with outbound.open_url(url, connect_timeout=settings.URL_IMPORT_CONNECT_TIMEOUT,
                           read_timeout=settings.URL_IMPORT_READ_TIMEOUT,
                           allowed_networks=allowed_networks(), ca_certs=ca_certs) as response:
        total = response.content_length
        if total is not None and total > max_bytes:
            raise MediaError("input_too_large",
                             f"The file at the URL is {_size(total)}, larger than the limit of "
                             f"{_size(max_bytes)}.")
        on_progress(0, total)
        body = _Body(response.iter_chunks(storage.CHUNK), total=total, max_bytes=max_bytes,
                     on_progress=on_progress, deadline=deadline)
        stored = storage.media_storage().save(name, File(body, name=name.rsplit("/", 1)[-1]))
        if body.received == 0:
            storage.media_storage().delete(stored)
            raise MediaError("empty_file", "The URL answered with an empty file.")
        on_progress(body.received, total)
        log.info("imported %s bytes from %s", body.received, outbound.display_url(url))
        return stored, body.received


def discard(name: str, folder: str) -> None:
    """Delete a (partial) download, and its folder once nothing else is in it."""
    media = storage.media_storage()
    if media.exists(name):
        media.delete(name)
    if not storage.list_tree(folder):
        storage.delete_tree(folder)

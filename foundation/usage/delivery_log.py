"""The platform's own delivery log: a line for each delivery response it sends, in the
format the production nginx writes its access log in (`NGINX_ACCESS_LOG`):

    <unix time, ms> <status> <body bytes sent> <method> <path>

The path has no query string and no child URL signature (they are credentials). No
database write happens on the delivery path: a line is one append to a file every
process holds open (a few microseconds), read into the daily counters every minute and
before GET /api/v1/usage answers (ingest.py).

A line is written when the response has been handed to the server; a long streamed one
(a download) writes one every FLUSH_BYTES as well, so a process that dies mid-response
loses the count of less than that much of it. A line in the file survives any crash of
the process (it is in the kernel's page cache); only a crash of the machine can lose
the last lines the kernel had not yet written to disk (seconds).

With nginx in front (`NGINX_ACCESS_LOG` set) every viewer response passes through nginx
and is in its log, proxied or not: the platform writes nothing then, so no byte is
counted twice.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from urllib.parse import quote

from django.conf import settings
from django.core.signals import setting_changed

log = logging.getLogger("kino.usage")

FLUSH_BYTES = 8 * 1024 * 1024
# How often a process checks that its open file is still the one at DELIVERY_LOG (the
# file is rotated by renaming it; ingest.py waits longer than this before letting go of
# a rotated file).
REOPEN_SECONDS = 1.0

_lock = threading.Lock()
_fd = -1
_path = ""
_inode = 0
_checked = 0.0
_complained = 0.0
# (DELIVERY_LOG, whether nginx is in front), read once: settings attributes cost about as
# much as the write itself on this path. Tests that change them are followed (signal).
_config: tuple[str, bool] | None = None


def _configured() -> tuple[str, bool]:
    global _config
    if _config is None:
        _config = (str(settings.DELIVERY_LOG), bool(settings.NGINX_ACCESS_LOG))
    return _config


def _settings_changed(setting: str, **kwargs) -> None:
    global _config, _checked
    if setting in ("DELIVERY_LOG", "NGINX_ACCESS_LOG"):
        _config, _checked = None, 0.0


setting_changed.connect(_settings_changed, dispatch_uid="kino-delivery-log-settings")


def _reopen(path: str, now: float) -> None:
    global _fd, _path, _inode, _checked
    _checked = now
    try:
        if path == _path and _fd >= 0 and os.stat(path).st_ino == _inode:
            return
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    if _fd >= 0:
        os.close(_fd)
    _fd, _path, _inode = fd, path, os.fstat(fd).st_ino


def append(status: int, size: int, method: str, path: str) -> None:
    """One line; a failure to write is logged (once a minute), never raised to a viewer."""
    global _complained
    line = f"{time.time():.3f} {status} {size} {method} {path}\n".encode()
    with _lock:
        try:
            now = time.monotonic()
            if now - _checked > REOPEN_SECONDS:
                _reopen(_configured()[0], now)
            os.write(_fd, line)
        except OSError as exc:
            if time.monotonic() - _complained > 60:
                _complained = time.monotonic()
                log.error("delivery log %s not written (%s): delivered bytes are not counted",
                          _configured()[0], exc)


def logged_path(path: str) -> str:
    """The path as logged: a child URL's signature left out (/v/{pbk}/s/{exp}/{sig}/… →
    /v/{pbk}/s/{exp}/…), and anything that could split the line escaped."""
    parts = path.split("/", 6)
    if len(parts) == 7 and parts[3] == "s":
        path = "/".join((*parts[:5], parts[6]))
    if " " in path or not path.isprintable():
        path = quote(path, safe="/")
    return path


def _counted_stream(chunks, status: int, method: str, path: str):
    unlogged = 0
    try:
        for chunk in chunks:
            unlogged += len(chunk)
            if unlogged >= FLUSH_BYTES:
                append(status, unlogged, method, path)
                unlogged = 0
            yield chunk
    finally:  # exhausted, or closed early by a viewer who went away: what was sent counts
        if unlogged:
            append(status, unlogged, method, path)


def counted(view):
    """Count the body bytes of a delivery view's successful responses in the delivery log."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        status = response.status_code
        if status < 200 or status > 299 or request.method == "HEAD" or _configured()[1]:
            return response
        path = logged_path(request.path)
        if response.streaming:
            response.streaming_content = _counted_stream(response.streaming_content, status,
                                                         request.method, path)
        elif size := len(response.content):
            append(status, size, request.method, path)
        return response

    return wrapper

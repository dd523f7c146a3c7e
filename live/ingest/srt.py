"""SRT listeners: one FFmpeg per SRT-enabled stream, listening on the stream's port and
relaying what its encoder sends into nginx-rtmp, where it is published like any RTMP
encoder (with a relay token instead of the stream key).
"""

from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass, field

from django.conf import settings

from foundation.processes import ChildProcess

from . import children
from .children import Backoff


@dataclass
class Listener:
    spec: dict
    child: ChildProcess | None = None
    backoff: Backoff = field(default_factory=Backoff)


def listener_args(spec: dict, *, bind: str, rtmp_port: int) -> list[str]:
    source = (f"srt://{bind}:{spec['port']}?mode=listener"
              f"&passphrase={urllib.parse.quote(spec['passphrase'])}&pbkeylen=16")
    sink = (f"rtmp://127.0.0.1:{rtmp_port}/{spec['app']}/{spec['stream']}"
            f"?relay={spec['relay_token']}")
    return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-probesize", "200000", "-analyzeduration", "500000", "-i", source,
            "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy", "-f", "flv", sink]


def reconcile(listeners: dict[int, Listener], specs: list[dict], *, bind: str,
              rtmp_port: int) -> None:
    """Listen on each wanted port with its spec; stop listeners whose spec changed or went."""
    now = time.monotonic()
    wanted = {int(s["port"]): s for s in specs if s.get("port")}
    for port in list(listeners):
        listener = listeners[port]
        if wanted.get(port) != listener.spec:
            if listener.child:
                listener.child.stop()
            del listeners[port]
    for port, spec in wanted.items():
        listener = listeners.setdefault(port, Listener(spec=spec))
        child = listener.child
        if child and child.alive():
            continue
        if child is not None:
            # The listener exits when its caller leaves: listen again at once,
            # with backoff only if it keeps failing quickly.
            if now - child.started < 2:
                listener.backoff.failed(now)
            else:
                listener.backoff.failures = 0
            listener.child = None
        if listener.backoff.ready(now):
            listener.child = children.start(listener_args(spec, bind=bind, rtmp_port=rtmp_port))

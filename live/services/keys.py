"""Stream keys, the ingest's relay tokens and SRT ports.

The stream key an encoder sends is `{stream id}?key={secret}`: nginx-rtmp hands the
query to the publish callback as a field and names files and HLS after the stream id
alone, so the secret never reaches a file name, a playback URL or a log line. Only a
SHA-256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction

from ..models import LiveStream

log = logging.getLogger("kino.live")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A stream key's secret, and the hash that is stored of it."""
    secret = secrets.token_urlsafe(24)
    return secret, secret_hash(secret)


def new_srt_passphrase() -> str:
    return secrets.token_urlsafe(18)


def stream_key(stream: LiveStream, secret: str) -> str:
    return f"{stream.id}?key={secret}"


def relay_token(stream: LiveStream) -> str:
    """What an ingest node's own SRT relay publishes with instead of the stream key
    (which is stored hashed only). It changes when the key is reset."""
    material = f"relay:{stream.id}:{stream.key_generation}".encode()
    return hmac.new(settings.LIVE_INGEST_SECRET.encode(), material, hashlib.sha256).hexdigest()[:40]


def allocate_srt_port(stream: LiveStream) -> None:
    """The lowest free port of SRT_PORTS; none when all are taken (srt_url is then null)."""
    taken = set(LiveStream.objects.exclude(srt_port=None).values_list("srt_port", flat=True))
    for port in settings.SRT_PORTS:
        if port in taken:
            continue
        try:
            with transaction.atomic():
                LiveStream.objects.filter(pk=stream.pk).update(srt_port=port)
        except IntegrityError:
            continue  # taken meanwhile by another request
        stream.srt_port = port
        return
    log.warning("no free SRT port in %s for %s", settings.SRT_PORTS, stream.id)

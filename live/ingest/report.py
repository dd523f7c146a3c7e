"""Reporting to the platform: what publishes here, how each relay is doing and which
recordings were stored, answered with what this node should run (SRT listeners,
simulcast relays, encoders to drop, recordings to store).

Plain HTTP with the ingest secret in the path: an ingest node needs only the platform's
URL and that secret, never the database.
"""

from __future__ import annotations

import json
import logging
import urllib.request

from django.conf import settings

from . import config

log = logging.getLogger("kino.live.ingest")
TIMEOUT_SECONDS = 5


def send(*, platform_url: str, node: str, streams: list[dict], relays: list[dict],
         recordings: list[dict], final: bool) -> dict | None:
    """The platform's answer, or None when it could not be reached or made no sense."""
    body = json.dumps({"streams": streams, "relays": relays, "recordings": recordings,
                       "final": final, "hls_url": settings.LIVE_HLS_URL}).encode()
    request = urllib.request.Request(
        f"{config.callback_base(platform_url, node)}/report", data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError) as exc:
        log.warning("report to the platform failed: %s", exc)
        return None

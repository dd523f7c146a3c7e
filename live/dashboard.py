"""The operator dashboard's feed: one card per stream, pushed over a WebSocket.

Services call broadcast_on_commit with the streams they changed; after the commit,
each stream's card is read fresh and sent to the dashboard group on the channel layer
(in-memory when everything runs in one process, Redis across processes).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .api.serializers import health_data
from .models import LiveStream

log = logging.getLogger("kino.live")
GROUP = "live-dashboard"


def stream_card(stream: LiveStream) -> dict:
    return {
        "id": stream.id,
        "name": stream.name,
        "environment": stream.environment.name,
        "status": "deleted" if stream.deleted_at else stream.status,
        "latency_mode": stream.latency_mode,
        "active_since": stream.active_since.isoformat() if stream.active_since else None,
        "recording_asset_id": stream.recording_asset_id,
        "health": health_data(stream),
        "simulcast_targets": [
            {"id": t.id, "host": urlsplit(t.url).hostname or "", "status": t.status,
             "error": t.error[-300:] or None}
            for t in stream.simulcast_targets.all()
        ],
        "updated_at": stream.updated_at.isoformat(),
    }


def cards(stream_ids: list[str] | None = None) -> list[dict]:
    streams = (LiveStream.objects.select_related("environment")
               .prefetch_related("simulcast_targets"))
    if stream_ids is None:
        streams = streams.filter(deleted_at__isnull=True)
    else:
        streams = streams.filter(pk__in=stream_ids)
    return [stream_card(s) for s in streams]


def _send(stream_ids: list[str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for card in cards(stream_ids):
            async_to_sync(layer.group_send)(GROUP, {"type": "stream.update", "stream": card})
    except Exception:  # the dashboard is a view of the data, never a reason to fail a change
        log.exception("dashboard broadcast failed")


def broadcast_on_commit(stream_ids: list[str]) -> None:
    ids = list(stream_ids)
    transaction.on_commit(lambda: _send(ids))

from __future__ import annotations

from django.db.models import QuerySet

from foundation.errors import NotFound

from .models import LiveStream, SimulcastTarget


def live_stream_list(*, environment_id: str) -> QuerySet[LiveStream]:
    return (LiveStream.objects.filter(environment_id=environment_id, deleted_at__isnull=True)
            .prefetch_related("playback_ids", "simulcast_targets"))


def live_stream_get(*, environment_id: str, stream_id: str) -> LiveStream:
    stream = live_stream_list(environment_id=environment_id).filter(pk=stream_id).first()
    if stream is None:
        raise NotFound(f"No live stream {stream_id!r} in this environment.")
    return stream


def simulcast_target_get(*, stream: LiveStream, target_id: str) -> SimulcastTarget:
    target = stream.simulcast_targets.filter(pk=target_id).first()
    if target is None:
        raise NotFound(f"No simulcast target {target_id!r} on this live stream.")
    return target

from __future__ import annotations

from django.db.models import QuerySet

from foundation.errors import NotFound
from media_core.models import PlaybackID
from media_core.selectors import source_playback_id_get, source_playback_ids

from .delivery import SOURCE_TYPE
from .models import LiveStream, SimulcastTarget


def live_stream_list(*, environment_id: str) -> QuerySet[LiveStream]:
    return (LiveStream.objects.filter(environment_id=environment_id, deleted_at__isnull=True)
            .prefetch_related("simulcast_targets"))


def with_playback_ids(streams: list[LiveStream]) -> list[LiveStream]:
    """Attach each stream's playback IDs, read in one query (a list would ask per stream)."""
    found = source_playback_ids(source_type=SOURCE_TYPE, source_ids=[s.id for s in streams])
    for stream in streams:
        stream.fetched_playback_ids = found[stream.id]
    return streams


def stream_playback_ids(stream: LiveStream) -> list[PlaybackID]:
    if not hasattr(stream, "fetched_playback_ids"):
        with_playback_ids([stream])
    return stream.fetched_playback_ids


def live_playback_id_get(*, stream: LiveStream, playback_id: str) -> PlaybackID:
    return source_playback_id_get(source_type=SOURCE_TYPE, source_id=stream.id,
                                  playback_id=playback_id)


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

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from foundation.errors import NotFound
from media_core.models import Asset, PlaybackID
from media_core.selectors import source_playback_id_get, source_playback_ids

from .delivery import SOURCE_TYPE
from .models import IngestNode, LiveStream, SimulcastTarget

# How many of a stream's latest recordings its API document lists.
RECENT_ASSETS = 10


def _streams(environment_id: str) -> QuerySet[LiveStream]:
    return LiveStream.objects.filter(environment_id=environment_id, deleted_at__isnull=True)


def live_stream_list(*, environment_id: str) -> QuerySet[LiveStream]:
    return _streams(environment_id).prefetch_related("simulcast_targets")


def with_playback_ids(streams: list[LiveStream]) -> list[LiveStream]:
    """Attach each stream's playback IDs, read in one query (a list would ask per stream)."""
    found = source_playback_ids(source_type=SOURCE_TYPE, source_ids=[s.id for s in streams])
    for stream in streams:
        stream.fetched_playback_ids = found[stream.id]
    return streams


def with_recent_asset_ids(streams: list[LiveStream]) -> list[LiveStream]:
    """Attach the ids of each stream's latest recordings, newest first, read in one query
    that ranks them per stream (a list would ask per stream, and a stream that records
    around the clock has thousands)."""
    found: dict[str, list[str]] = {stream.id: [] for stream in streams}
    if found:
        rows = (Asset.objects.filter(live_stream_id__in=list(found), deleted_at__isnull=True)
                .annotate(rank=Window(RowNumber(), partition_by=F("live_stream_id"),
                                      order_by=F("id").desc()))
                .filter(rank__lte=RECENT_ASSETS)
                .order_by("-id")
                .values_list("live_stream_id", "id"))
        for stream_id, asset_id in rows:
            found[stream_id].append(asset_id)
    for stream in streams:
        stream.fetched_recent_asset_ids = found[stream.id]
    return streams


def with_api_relations(streams: list[LiveStream]) -> list[LiveStream]:
    """What the API document of a stream shows beyond its row (its simulcast targets are
    prefetched by live_stream_list): a fixed number of queries for any number of streams."""
    return with_recent_asset_ids(with_playback_ids(streams))


def stream_playback_ids(stream: LiveStream) -> list[PlaybackID]:
    if not hasattr(stream, "fetched_playback_ids"):
        with_playback_ids([stream])
    return stream.fetched_playback_ids


def stream_recent_asset_ids(stream: LiveStream) -> list[str]:
    if not hasattr(stream, "fetched_recent_asset_ids"):
        with_recent_asset_ids([stream])
    return stream.fetched_recent_asset_ids


def live_playback_id_get(*, stream: LiveStream, playback_id: str) -> PlaybackID:
    return source_playback_id_get(source_type=SOURCE_TYPE, source_id=stream.id,
                                  playback_id=playback_id)


def _stream_not_found(stream_id: str) -> NotFound:
    return NotFound(f"No live stream {stream_id!r} in this environment.")


def live_stream_get(*, environment_id: str, stream_id: str) -> LiveStream:
    stream = live_stream_list(environment_id=environment_id).filter(pk=stream_id).first()
    if stream is None:
        raise _stream_not_found(stream_id)
    return stream


def simulcast_target_list(*, environment_id: str, stream_id: str) -> QuerySet[SimulcastTarget]:
    if not _streams(environment_id).filter(pk=stream_id).exists():
        raise _stream_not_found(stream_id)
    return SimulcastTarget.objects.filter(stream_id=stream_id)


def simulcast_target_get(*, environment_id: str, stream_id: str, target_id: str) -> SimulcastTarget:
    """A stream's simulcast target, with its stream, in one query."""
    target = (SimulcastTarget.objects.select_related("stream")
              .filter(pk=target_id, stream_id=stream_id, stream__environment_id=environment_id,
                      stream__deleted_at__isnull=True)
              .first())
    if target is None:
        # Which of the two is missing decides the message; only a refusal pays for it.
        if not _streams(environment_id).filter(pk=stream_id).exists():
            raise _stream_not_found(stream_id)
        raise NotFound(f"No simulcast target {target_id!r} on this live stream.")
    return target


# --- ingest nodes -------------------------------------------------------------------
NODE_STATES = ("reporting", "silent", "stopped")


def _reports():
    # Imported when asked: the services import this module.
    from .services import reports

    return reports


@dataclass(frozen=True)
class IngestNodeState:
    name: str
    state: str  # one of NODE_STATES
    last_report_at: datetime
    first_seen_at: datetime
    stopped_at: datetime | None
    streams: int


def ingest_node_state(node: IngestNode, now: datetime | None = None) -> str:
    """`stopped` after its final report; else `reporting` while its last report is
    recent (a node reports every ~2 s; after the window in which its sessions would
    count as lost it is `silent`)."""
    if node.stopped_at is not None:
        return "stopped"
    now = now or timezone.now()
    return "reporting" if node.last_report_at >= now - _reports().LOST_AFTER else "silent"


def ingest_nodes_in_state(state: str, now: datetime | None = None) -> QuerySet[IngestNode]:
    """The nodes in one of NODE_STATES, as a queryset (the admin's list filter)."""
    recent = Q(last_report_at__gte=(now or timezone.now()) - _reports().LOST_AFTER)
    running = IngestNode.objects.filter(stopped_at__isnull=True)
    if state == "reporting":
        return running.filter(recent)
    if state == "silent":
        return running.exclude(recent)
    if state == "stopped":
        return IngestNode.objects.filter(stopped_at__isnull=False)
    raise ValueError(f"Unknown ingest node state {state!r}.")


def ingest_nodes() -> list[IngestNodeState]:
    """Every ingest node that ever reported, by name, with its state (`reporting`,
    `silent` or `stopped`, see ingest_node_state) and when it last reported. One query,
    no arguments: what /readyz and the system status page ask."""
    now = timezone.now()
    return [IngestNodeState(name=node.name, state=ingest_node_state(node, now),
                            last_report_at=node.last_report_at,
                            first_seen_at=node.first_seen_at, stopped_at=node.stopped_at,
                            streams=node.streams)
            for node in IngestNode.objects.order_by("name")]


def sessions_lost_filter(*, since: datetime) -> dict[str, object]:
    """The sessions that ended since then because their node no longer reported them
    (not because the encoder stopped: viewers saw the stream cut), as field lookups,
    so that the admin's session list can be filtered by the same."""
    return {"end_reason": _reports().LOST_REASON, "ended_at__gte": since}

"""A run: from an encoder's first publish to the end of the reconnect window.

A stream that records (it has new_asset_settings) records each run into one asset,
created on the first publish and handed to processing when the run ends.
"""

from __future__ import annotations

from foundation.tasks import enqueue_on_commit
from media_core.models import Asset
from media_core.services import assets as asset_services
from media_core.services.records import asset_event

from .. import events
from ..models import LiveStream
from .records import INGEST, stream_event


def run_start_recording(stream: LiveStream) -> Asset:
    """The asset this run is recorded into. Within the caller's transaction, with the
    stream locked."""
    settings_ = dict(stream.new_asset_settings or {})
    settings_.setdefault("title", f"Recording of {stream.id}")
    asset = asset_services.asset_create(environment_id=stream.environment_id, actor=INGEST,
                                        settings=settings_, start_processing=False,
                                        live_stream_id=stream.id)
    stream.recording_asset = asset
    LiveStream.objects.filter(pk=stream.pk).update(recording_asset=asset)
    return asset


def run_end(stream: LiveStream, *, was_active: bool) -> None:
    """The run is over: say so, and hand its recording to processing after commit.

    Within the caller's transaction; the caller has moved the stream out of `active`.
    """
    if was_active:
        stream_event(stream, events.LIVE_STREAM_IDLE)
    asset_id = stream.recording_asset_id
    LiveStream.objects.filter(pk=stream.pk).update(recording_asset=None, active_since=None,
                                                   disconnected_at=None)
    stream.recording_asset = None
    if asset_id:
        asset = Asset.objects.get(pk=asset_id)
        asset_event(asset, events.ASSET_LIVE_STREAM_COMPLETED)
        enqueue_on_commit("live.tasks.finalise_recording", asset_id)

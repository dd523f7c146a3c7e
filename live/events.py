"""The event types live emits, declared in the one catalogue (webhooks.catalogue)."""

from __future__ import annotations

from webhooks.catalogue import register


def _stream(name: str, description: str):
    return register(f"video.live_stream.{name}", description, object_type="live_stream")


LIVE_STREAM_CREATED = _stream("created", "A live stream was created (status idle).")
LIVE_STREAM_UPDATED = _stream(
    "updated", "A live stream's settings, playback IDs or simulcast targets changed.")
LIVE_STREAM_DELETED = _stream("deleted", "A live stream was deleted.")
LIVE_STREAM_DISABLED = _stream(
    "disabled", "A live stream was disabled: it refuses publishing, and its run ended.")
LIVE_STREAM_ENABLED = _stream("enabled", "A disabled live stream accepts publishing again.")
LIVE_STREAM_CONNECTED = _stream("connected", "An encoder connected with the stream key.")
LIVE_STREAM_ACTIVE = _stream(
    "active", "The stream is on air: the encoder's first playlist was written.")
LIVE_STREAM_DISCONNECTED = _stream("disconnected", "The encoder disconnected.")
LIVE_STREAM_IDLE = _stream(
    "idle", "The run ended: the reconnect window passed, or it was completed, disabled "
            "or deleted.")


def _target(name: str, description: str):
    return register(f"video.live_stream.simulcast_target.{name}", description,
                    object_type="simulcast_target")


SIMULCAST_TARGET_STARTING = _target("starting", "A restream relay to the target is starting.")
SIMULCAST_TARGET_BROADCASTING = _target("broadcasting", "The stream is restreamed to the target.")
SIMULCAST_TARGET_ERRORED = _target(
    "errored", "Restreaming to the target failed; `error` has FFmpeg's last lines.")
SIMULCAST_TARGET_IDLE = _target("idle", "Restreaming to the target stopped.")

# A recording asset's event, sent by live (media_core knows nothing of live streams).
ASSET_LIVE_STREAM_COMPLETED = register(
    "video.asset.live_stream_completed",
    "The run recorded into this asset ended; the asset is processed next.",
    object_type="asset")

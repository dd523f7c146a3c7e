"""The event types media_core emits, declared in the one catalogue (webhooks.catalogue)."""

from __future__ import annotations

from webhooks.catalogue import register

UPLOAD_CREATED = register(
    "video.upload.created", "An upload URL was created; it waits for the file.",
    object_type="upload")
UPLOAD_ASSET_CREATED = register(
    "video.upload.asset_created", "The upload's file arrived and became an asset.",
    object_type="upload")
UPLOAD_CANCELLED = register(
    "video.upload.cancelled", "The upload was cancelled; its bytes are deleted.",
    object_type="upload")
UPLOAD_TIMED_OUT = register(
    "video.upload.timed_out", "The upload URL expired before the file was complete.",
    object_type="upload")
UPLOAD_ERRORED = register(
    "video.upload.errored", "The upload cannot succeed (more bytes than allowed arrived).",
    object_type="upload")

ASSET_CREATED = register(
    "video.asset.created", "An asset was created (status preparing).", object_type="asset")
ASSET_READY = register(
    "video.asset.ready", "The asset was processed and plays.", object_type="asset")
ASSET_RENDITIONS_READY = register(
    "video.asset.renditions_ready",
    "Every rendition of the asset is made. A standard input is ready, and plays from a "
    "stream copy of itself, before this; its encoded ladder then joins the master playlist. "
    "Any other input is made in one go: this follows video.asset.ready at once.",
    object_type="asset")
ASSET_ERRORED = register(
    "video.asset.errored", "The asset could not be processed; `errors` says why.",
    object_type="asset")
ASSET_UPDATED = register(
    "video.asset.updated",
    "The asset's fields, playback IDs or text tracks changed, or it is processed again.",
    object_type="asset")
ASSET_PUBLISHED = register(
    "video.asset.published",
    "The asset is published: its playback IDs play (now, or at its scheduled time).",
    object_type="asset")
ASSET_UNPUBLISHED = register(
    "video.asset.unpublished",
    "The asset was unpublished: its playback IDs answer 404 until it is published again.",
    object_type="asset")
ASSET_DELETED = register(
    "video.asset.deleted", "The asset was deleted.", object_type="asset")
# Downloads (mp4_support: standard), as Mux names them: every one asked for is made...
ASSET_DOWNLOADS_READY = register(
    "video.asset.static_renditions.ready",
    "The asset's downloads (highest.mp4, audio.m4a) are ready; `static_renditions` lists "
    "them.", object_type="asset")
# ...or at least one could not be.
ASSET_DOWNLOADS_ERRORED = register(
    "video.asset.static_renditions.errored",
    "At least one of the asset's downloads could not be made.", object_type="asset")

# A text track's own events, as Mux names them; the asset's `tracks` change too, so
# video.asset.updated follows each.
TRACK_READY = register(
    "video.asset.track.ready",
    "A text track (captions, subtitles) was added to an asset and plays with it; `data` is "
    "the track, with its `asset_id`.", object_type="track")
TRACK_DELETED = register(
    "video.asset.track.deleted", "A text track was removed from an asset.",
    object_type="track")

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
ASSET_ERRORED = register(
    "video.asset.errored", "The asset could not be processed; `errors` says why.",
    object_type="asset")
ASSET_UPDATED = register(
    "video.asset.updated",
    "The asset's fields or playback IDs changed, or it is processed again.",
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

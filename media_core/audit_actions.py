"""The audit actions media_core writes (foundation.audit's registry)."""

from __future__ import annotations

from foundation.audit import register_action

UPLOAD_CREATED = register_action("upload.created", "An upload URL was created.")
UPLOAD_LENGTH_DECLARED = register_action("upload.length_declared",
                                         "A resumable upload fixed its total size.")
UPLOAD_ASSET_CREATED = register_action("upload.asset_created",
                                       "The upload's file became an asset.")
UPLOAD_CANCELLED = register_action("upload.cancelled", "The upload was cancelled.")
UPLOAD_TIMED_OUT = register_action("upload.timed_out", "The upload URL expired.")
UPLOAD_ERRORED = register_action("upload.errored", "The upload can no longer succeed.")

ASSET_CREATED = register_action("asset.created", "An asset was created.")
ASSET_RECORDING_STORED = register_action("asset.recording_stored",
                                         "A live recording's original was stored.")
ASSET_READY = register_action("asset.ready", "The asset was processed.")
ASSET_RENDITIONS_READY = register_action(
    "asset.renditions_ready", "The asset's encoded ladder joined its stream copy.")
ASSET_RENDITIONS_ERRORED = register_action(
    "asset.renditions_errored",
    "The asset's ladder could not be encoded; it plays from its stream copy.")
ASSET_ERRORED = register_action("asset.errored", "The asset could not be processed.")
ASSET_UPDATED = register_action("asset.updated", "The asset's fields changed.")
ASSET_RETRIED = register_action("asset.retried", "Processing of a failed asset started again.")
ASSET_DELETED = register_action("asset.deleted", "The asset was deleted.")
ASSET_PUBLISHED = register_action("asset.published", "The asset was published.")
ASSET_UNPUBLISHED = register_action("asset.unpublished", "The asset was unpublished.")
ASSET_PUBLICATION_SCHEDULED = register_action(
    "asset.publication_scheduled", "The asset's publication or unpublication was scheduled.")

# Of an asset's or a live stream's playback IDs (the object named is their owner).
PLAYBACK_ID_CREATED = register_action("playback_id.created", "A playback ID was added.")
PLAYBACK_ID_DELETED = register_action("playback_id.deleted", "A playback ID was removed.")

# Of an asset's text tracks (the object named is the asset).
TEXT_TRACK_CREATED = register_action("text_track.created", "A text track was added.")
TEXT_TRACK_DELETED = register_action("text_track.deleted", "A text track was removed.")

JOB_CREATED = register_action("job.created", "A processing job was queued.")
JOB_REQUEUED = register_action("job.requeued", "A failed attempt; the job is queued again.")
JOB_FAILED = register_action("job.failed", "The job failed for good.")
JOB_CANCELLED = register_action("job.cancelled", "The job was cancelled.")

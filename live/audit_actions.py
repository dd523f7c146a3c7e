"""The audit actions live writes (foundation.audit's registry).

Changes to a live stream's playback IDs are media_core's playback_id.* actions.
"""

from __future__ import annotations

from foundation.audit import register_action

LIVE_STREAM_CREATED = register_action("live_stream.created", "A live stream was created.")
LIVE_STREAM_UPDATED = register_action("live_stream.updated", "A live stream's settings changed.")
LIVE_STREAM_KEY_RESET = register_action("live_stream.key_reset",
                                        "A live stream got a new stream key and SRT passphrase.")
LIVE_STREAM_DISABLED = register_action("live_stream.disabled", "A live stream was disabled.")
LIVE_STREAM_ENABLED = register_action("live_stream.enabled", "A live stream was enabled.")
LIVE_STREAM_COMPLETED = register_action("live_stream.completed",
                                        "A live stream's run was ended by hand.")
LIVE_STREAM_DELETED = register_action("live_stream.deleted", "A live stream was deleted.")
LIVE_STREAM_CONNECTED = register_action("live_stream.connected", "An encoder connected.")
LIVE_STREAM_ACTIVE = register_action("live_stream.active", "The stream went on air.")
LIVE_STREAM_DISCONNECTED = register_action("live_stream.disconnected",
                                           "The encoder disconnected.")
LIVE_STREAM_IDLE = register_action("live_stream.idle",
                                   "The reconnect window passed; the run ended.")
SIMULCAST_TARGET_CREATED = register_action("simulcast_target.created",
                                           "A simulcast target was added.")
SIMULCAST_TARGET_DELETED = register_action("simulcast_target.deleted",
                                           "A simulcast target was removed.")

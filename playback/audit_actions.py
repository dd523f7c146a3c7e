"""The audit actions playback writes (foundation.audit's registry)."""

from __future__ import annotations

from foundation.audit import register_action

SIGNING_KEY_CREATED = register_action("signing_key.created", "A playback signing key was created.")
SIGNING_KEY_DELETED = register_action("signing_key.deleted", "A playback signing key was deleted.")

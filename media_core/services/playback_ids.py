"""Playback IDs: the one place they are made and removed, for an asset or for an object
of a registered playback source (a live stream: playback/sources.py).

The parent's own service calls these inside its transaction and writes the parent's
audit entry and event: a playback ID is part of its parent as the API shows it.
"""

from __future__ import annotations

from media_core.models import Asset, PlaybackID


def playback_id_make(*, environment_id: str, policy: str, asset: Asset | None = None,
                     source_type: str = "", source_id: str | None = None) -> PlaybackID:
    """Of an asset, or of a source's object: exactly one (the database checks it too)."""
    if (asset is None) == (not source_type or source_id is None):
        raise ValueError("a playback ID plays an asset or a source's object, not both or neither")
    return PlaybackID.objects.create(environment_id=environment_id, policy=policy, asset=asset,
                                     source_type=source_type, source_id=source_id)


def playback_id_remove(*, playback_id: PlaybackID) -> bool:
    """Playback stops at once; False if it was gone already."""
    deleted, _ = PlaybackID.objects.filter(pk=playback_id.pk).delete()
    return bool(deleted)


def playback_ids_remove_all(*, asset: Asset | None = None, source_type: str = "",
                            source_id: str | None = None) -> list[str]:
    """Remove every playback ID of the parent; returns their ids."""
    found = (PlaybackID.objects.filter(asset=asset) if asset is not None
             else PlaybackID.objects.filter(source_type=source_type, source_id=source_id))
    ids = list(found.values_list("id", flat=True))
    found.delete()
    return ids

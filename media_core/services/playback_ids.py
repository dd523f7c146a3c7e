"""Playback IDs of the objects of a registered playback source (playback/sources.py).

The object's own service calls these inside its transaction and writes its own audit
entry and event: the playback ID is part of that object as the API shows it.
"""

from __future__ import annotations

from media_core.models import PlaybackID


def source_playback_id_create(*, environment_id: str, source_type: str, source_id: str,
                              policy: str) -> PlaybackID:
    return PlaybackID.objects.create(environment_id=environment_id, source_type=source_type,
                                     source_id=source_id, policy=policy)


def source_playback_id_delete(*, playback_id: PlaybackID) -> bool:
    """Playback stops at once; False if it was gone already."""
    deleted, _ = PlaybackID.objects.filter(pk=playback_id.pk).delete()
    return bool(deleted)


def source_playback_ids_delete(*, source_type: str, source_id: str) -> list[str]:
    """Delete every playback ID of the object; returns their ids."""
    found = PlaybackID.objects.filter(source_type=source_type, source_id=source_id)
    ids = list(found.values_list("id", flat=True))
    found.delete()
    return ids

"""Text tracks: captions and subtitles added to a ready asset, and removed.

Adding one is two steps, because writing files is I/O that must stay out of any
transaction: `text_track_store` reads the file and writes what players fetch (the WebVTT
file and a one-segment playlist) under a new track id; `text_track_create` then makes the
row that lets playback find them, with its audit entry and events. A caller whose
create fails calls `text_track_discard`. Files live in the asset's text folder
(media_core/models/tracks.py), which reprocessing never replaces; nothing is re-encoded.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf.locale import LANG_INFO
from django.core.files.base import ContentFile
from django.db import transaction

from foundation.context import Actor
from foundation.errors import Conflict, DomainError
from foundation.ids import new_id
from foundation.tasks import enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import JobType, StorageKind
from media_core import audit_actions, captions, events
from media_core.api.serializers import TextTrackSerializer
from media_core.models import Asset, Rendition, TextTrack
from media_core.models.tracks import text_files
from media_core.processing.timeline import first_frame_mpegts
from media_core.storage import media_storage
from webhooks.services import event_emit

from .records import asset_audit, asset_event

# BCP 47 as players use it: a language, then optional subtags (script, region, variant).
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"


def language_name(code: str) -> str:
    """The English name of a language code (`pt-BR`: Brazilian Portuguese), else the code:
    a track's name when none is given."""
    known = LANG_INFO.get(code.lower()) or LANG_INFO.get(code.split("-")[0].lower()) or {}
    return known.get("name", code)


class FileTooLarge(DomainError):
    code = "file_too_large"
    status = 413
    title = "File too large"


@dataclass(frozen=True)
class StoredFiles:
    """A track's files, written before the row that makes them playable."""

    track_id: str
    asset_id: str
    source_format: str
    cue_count: int
    sizes: tuple[int, ...] = ()  # of `names`, as stored
    seconds: float = 0.0  # the work of checking, converting and storing them

    @property
    def names(self) -> list[str]:
        return text_files(self.asset_id, self.track_id)


def text_track_refusal(asset: Asset) -> Conflict | None:
    """Why the asset cannot take a text track now, or None."""
    if asset.deleted_at:
        return Conflict("The asset was deleted.", code="asset_deleted")
    if asset.status != Asset.Status.READY:
        return Conflict(f"Text tracks are added to a ready asset; this one is {asset.status}.",
                        code="asset_not_ready")
    return None


def text_track_store(*, asset: Asset, data: bytes, filename: str = "") -> StoredFiles:
    """Check the file (CaptionsInvalid names the line that failed) and write the files
    players read. Storage I/O: call it outside any transaction."""
    if refusal := text_track_refusal(asset):
        raise refusal
    began = time.monotonic()
    if len(data) > captions.MAX_BYTES:
        raise FileTooLarge(f"A text track file is at most {captions.MAX_BYTES // 1024 // 1024} "
                           f"MiB; this one is {len(data) / 1024 / 1024:.1f} MiB.")
    read = captions.read(data, filename)
    renditions = sorted(asset.renditions.all(), key=lambda r: r.kind != Rendition.Kind.VIDEO)
    mpegts = first_frame_mpegts(asset.media_prefix, renditions[0].name) if renditions else 0
    track_id = new_id("trk")
    vtt_name, playlist_name = text_files(asset.id, track_id)
    vtt = read.for_players(mpegts=mpegts).encode()
    playlist = _playlist(f"{track_id}.vtt", asset.duration or 0).encode()
    storage = media_storage()
    storage.save(vtt_name, ContentFile(vtt))
    storage.save(playlist_name, ContentFile(playlist))
    return StoredFiles(track_id=track_id, asset_id=asset.id, source_format=read.source_format,
                       cue_count=read.cue_count, sizes=(len(vtt), len(playlist)),
                       seconds=time.monotonic() - began)


def _playlist(vtt_file: str, duration: float) -> str:
    """The track's HLS media playlist: one segment, the whole WebVTT file, as long as the
    video (its name is relative, so it keeps the playlist URL's path token)."""
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration))}",
        "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", f"#EXTINF:{duration:.3f},",
        vtt_file, "#EXT-X-ENDLIST", ""])


def text_track_discard(stored: StoredFiles) -> None:
    """Delete the files of a track whose row was never made."""
    storage = media_storage()
    for name in stored.names:
        storage.delete(name)


def text_track_create(*, asset: Asset, stored: StoredFiles, language_code: str, name: str,
                      closed_captions: bool, actor: Actor) -> TextTrack:
    """The track plays from now on, in every new master playlist of the asset."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if refusal := text_track_refusal(asset):
            raise refusal
        track = TextTrack.objects.create(
            id=stored.track_id, asset=asset, status=TextTrack.Status.READY,
            language_code=language_code, name=name, closed_captions=closed_captions,
            source_format=stored.source_format, cue_count=stored.cue_count)
        asset_audit(asset, actor, audit_actions.TEXT_TRACK_CREATED,
                    {"text_tracks": [None, _shown(track)]})
        for stored_name, size in zip(stored.names, stored.sizes, strict=False):
            usage.storage_stored(environment_id=asset.environment_id, name=stored_name,
                                 kind=StorageKind.TEXT_TRACKS, size=size)
        usage.processing_record(key=f"text_track:{track.id}", seconds=stored.seconds,
                                environment_id=asset.environment_id,
                                job_type=JobType.TEXT_TRACKS)
        _track_event(asset, track, events.TRACK_READY)
        asset_event(asset, events.ASSET_UPDATED)
    return track


def text_track_delete(*, track: TextTrack, actor: Actor) -> bool:
    """New master playlists leave it out at once and its files are deleted after commit;
    False if it was gone already."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=track.asset_id)
        deleted, _ = TextTrack.objects.filter(pk=track.pk).delete()
        if not deleted:
            return False
        asset_audit(asset, actor, audit_actions.TEXT_TRACK_DELETED,
                    {"text_tracks": [_shown(track), None]})
        _track_event(asset, track, events.TRACK_DELETED)
        asset_event(asset, events.ASSET_UPDATED)
        enqueue_on_commit("media_core.tasks.delete_text_track_files", asset.id, track.id)
    return True


def _shown(track: TextTrack) -> dict:
    return {"id": track.id, "language_code": track.language_code, "name": track.name,
            "closed_captions": track.closed_captions}


def _track_event(asset: Asset, track: TextTrack, type) -> None:
    event_emit(environment_id=asset.environment_id, type=type, object_type="track",
               object_id=track.id,
               data={**TextTrackSerializer(track).data, "asset_id": asset.id})

"""What media storage holds against what the database says it should.

An object is owned when a row points at it:
- an asset's original (`master_name`: under uploads/, imports/ or recordings/);
- the rendition folder an asset plays from (`media_prefix`: its playlists, segments,
  poster, storyboard, downloads and the images kept for the next request), or the
  folder a running job is writing;
- an asset's text track files (assets/{asset}/text/{track}.vtt and .m3u8);
- the staged parts of an upload still waiting for its bytes;
- the recording files of a live run's sessions, stored by its ingest nodes, until they
  are joined into the asset's original.
Of a deleted asset nothing is owned. Everything else is an orphan: what a crash left
between writing an object and recording it, a folder an old attempt wrote, a file of a
row deleted by hand. Orphans older than a grace period (longer than any write takes to
be recorded) are deleted by `storage_orphans_delete`, every day by the schedule and on
demand by `manage.py storage_audit --delete`.

Missing is the other way round: a row whose object is not there (an asset's original,
a ready asset's playlists, a ready download or text track), which no sweep can mend;
`manage.py storage_audit` lists them for a person to look at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from foundation import metrics
from foundation.usage import services as usage
from foundation.usage.models import Metric
from media_core.models import Asset, ProcessingJob, StaticRendition, TextTrack, Upload
from media_core.models.tracks import text_files
from media_core.storage import StoredObject, media_storage, walk

log = logging.getLogger(__name__)

ORPHAN_GRACE = timedelta(hours=24)


@dataclass
class Audit:
    objects: int = 0
    bytes: int = 0
    orphans: list[StoredObject] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (row, object name)

    @property
    def orphan_bytes(self) -> int:
        return sum(o.size for o in self.orphans)


def _owned() -> tuple[set[str], set[str]]:
    """(names owned, folder prefixes owned)."""
    names: set[str] = set()
    folders: set[str] = set()
    live = Asset.objects.filter(deleted_at=None)
    for master, prefix in live.values_list("master_name", "media_prefix"):
        if master:
            names.add(master)
        if prefix:
            folders.add(prefix.rstrip("/") + "/")
    for prefix in ProcessingJob.objects.filter(
            status=ProcessingJob.Status.RUNNING, asset__deleted_at=None).values_list(
            "output_prefix", flat=True):
        if prefix:
            folders.add(prefix.rstrip("/") + "/")
    # A live recording still being assembled owns its sessions' files.
    for asset_id in live.filter(master_name="").exclude(live_stream_id=None).values_list(
            "id", flat=True):
        folders.add(f"recordings/{asset_id}/sessions/")
    # An upload still growing owns its staged parts (UPLOAD_STAGING=storage).
    for upload_id in Upload.objects.filter(status=Upload.Status.WAITING).values_list(
            "id", flat=True):
        folders.add(f"uploads/{upload_id}/parts/")
    for asset_id, track_id in TextTrack.objects.filter(asset__deleted_at=None).values_list(
            "asset_id", "id"):
        names.update(text_files(asset_id, track_id))
    return names, folders


def _is_owned(name: str, names: set[str], folders: set[str]) -> bool:
    if name in names:
        return True
    parts = name.split("/")
    # assets/{asset}/{folder}/...: one set lookup instead of a scan of every prefix.
    return len(parts) > 3 and f"{'/'.join(parts[:3])}/" in folders


def _missing() -> list[tuple[str, str]]:
    storage = media_storage()
    found = []
    ready = Asset.objects.filter(deleted_at=None).exclude(master_name="")
    for asset_id, master in ready.values_list("id", "master_name"):
        if not storage.exists(master):
            found.append((f"asset {asset_id} (original)", master))
    for asset in (Asset.objects.filter(deleted_at=None, status=Asset.Status.READY)
                  .prefetch_related("renditions")):
        for rendition in asset.renditions.all():
            name = f"{asset.media_prefix}/{rendition.name}/index.m3u8"
            if not storage.exists(name):
                found.append((f"asset {asset.id} ({rendition.name})", name))
    for download in StaticRendition.objects.filter(
            asset__deleted_at=None, status=StaticRendition.Status.READY):
        if not storage.exists(download.storage_name):
            found.append((f"asset {download.asset_id} (download {download.name})",
                          download.storage_name))
    for track in TextTrack.objects.filter(asset__deleted_at=None,
                                          status=TextTrack.Status.READY):
        for name in text_files(track.asset_id, track.id):
            if not storage.exists(name):
                found.append((f"text track {track.id}", name))
    return found


def storage_audit(*, with_missing: bool = True) -> Audit:
    """Walk media storage once and sort every object into owned and orphaned."""
    # Rows first: an object written after this read is newer than any grace period.
    names, folders = _owned()
    audit = Audit()
    for obj in walk():
        audit.objects += 1
        audit.bytes += obj.size
        if not _is_owned(obj.name, names, folders):
            audit.orphans.append(obj)
    if with_missing:
        audit.missing = _missing()
    return audit


def storage_orphans_delete(*, older_than: timedelta = ORPHAN_GRACE,
                           now: datetime | None = None) -> tuple[int, int]:
    """Delete the orphans older than the grace period: (objects, bytes) deleted."""
    now = now or timezone.now()
    storage = media_storage()
    audit = storage_audit(with_missing=False)
    # The rows again, at the last moment: an object recorded meanwhile is kept.
    names, folders = _owned()
    deleted = size = 0
    gone = []
    for obj in audit.orphans:
        if obj.modified > now - older_than or _is_owned(obj.name, names, folders):
            continue
        storage.delete(obj.name)
        gone.append(obj.name)
        deleted, size = deleted + 1, size + obj.size
        log.info("deleted orphaned object %s (%d bytes, written %s)", obj.name, obj.size,
                 obj.modified.isoformat())
    if gone:
        usage.storage_forget(names=gone)  # what the usage ledger knew of them
        _count_in_usage([obj for obj in audit.orphans if obj.name in set(gone)])
        metrics.STORAGE_ORPHANS_DELETED_BYTES.inc(size)
    return deleted, size


def _owner_id(name: str) -> str:
    """The asset or upload a media object's path names (every path the platform writes
    starts with its folder and that id), or ""."""
    parts = name.split("/")
    return parts[1] if len(parts) > 2 and parts[0] in _OWNER_FOLDERS else ""


_OWNER_FOLDERS = ("assets", "uploads", "imports", "recordings")


def _count_in_usage(deleted: list[StoredObject]) -> None:
    """The deleted orphans' bytes go into the usage of the environment their path names
    (an asset or upload of it, deleted or not); the sweep's log names the rest."""
    ids = {_owner_id(obj.name) for obj in deleted} - {""}
    environment_of = dict(Asset.objects.filter(pk__in=ids).values_list("id", "environment_id"))
    environment_of.update(Upload.objects.filter(pk__in=ids).values_list("id", "environment_id"))
    by_environment: dict[str, int] = {}
    for obj in deleted:
        environment_id = environment_of.get(_owner_id(obj.name))
        if environment_id is None:
            log.warning("deleted orphan %s names no asset or upload: in no environment's usage",
                        obj.name)
            continue
        by_environment[environment_id] = by_environment.get(environment_id, 0) + obj.size
    for environment_id, size in by_environment.items():
        usage.counter_add(environment_id=environment_id, metric=Metric.ORPHANS_DELETED_BYTES,
                          amount=size)


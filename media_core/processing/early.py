"""Playable before the ladder is done: the two ways an asset becomes `ready` early.

- A standard input (copy.py) is cut into HLS as it is (`Cut`, `copy_first`): the cut
  starts as soon as the headers allow it, beside the read of the packets that decides
  it; published about a second after the job starts, while the ladder encodes beside it
  into the same folder and joins the master playlist at the end.
- Any other input plays from its ladder as the ladder is encoded (`Growing`): the encode
  writes every media playlist after each segment (EVENT playlists, written to a temporary
  file and renamed, so what is seen on disk is whole); on every heartbeat the worker
  stores the new segments, then the playlists that list them, and once every rendition
  has its first segment the asset is published, its playlists growing until the encode
  ends and they are stored as VOD playlists with the rest.

Either way the asset is `ready` with `renditions_status: "preparing"` then
(services/processing.py, job_publish_first), and everything already stored is left out
of the final publish.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from foundation.usage import services as usage
from foundation.usage.models import StorageKind
from media_core import ffmpeg, storage
from media_core.models import Asset, ProcessingJob
from media_core.services import processing
from media_core.services.assets import asset_record_inspection

from . import copy, encode, ladder, outputs, probe
from .errors import MediaError

log = logging.getLogger("kino.processing")
_MAP_URI = re.compile(r'#EXT-X-MAP:URI="([^"/]+)"')
# Seconds of media every rendition must have before the asset plays from its ladder:
# one segment (encode.SEGMENT_SECONDS).
FIRST_SECONDS = encode.SEGMENT_SECONDS - 0.5


def check_limit(inspection: probe.Inspection, decoded: outputs.Decoded, limit: float,
                whose: str) -> None:
    if decoded.duration > limit:  # the header understated it
        raise MediaError("duration_too_long",
                         f"The {inspection.kind} lasts {decoded.duration:.1f} s; {whose} accepts "
                         f"at most {limit:g} s.")


def record_inspection(asset: Asset, inspection: probe.Inspection,
                      decoded: outputs.Decoded | None) -> None:
    """The asset's duration and tracks: what was decoded, or (playing before the end of
    its encode) what the headers say until then."""
    duration = decoded.duration if decoded else inspection.duration
    asset_record_inspection(
        asset=asset, duration=round(duration, 3),
        tracks=inspection.tracks(video_seconds=decoded.video if decoded else None,
                                 audio_seconds=decoded.audio if decoded else None),
        aspect_ratio=inspection.aspect_ratio or "")


@dataclass
class FirstRendition:
    """What the stream copy made: its rendition rows, and the files already in storage
    (empty when an earlier attempt had made the asset playable: all go at the end)."""

    rows: list[dict]
    files: frozenset[Path]


class Cut:
    """The stream copy being made: its remux and its poster, run in threads of their own
    from the moment the headers allow a copy, beside the read of the packets that
    decides it (copy.judge_packets). A context manager: on leaving, a remux still
    running is stopped and waited for."""

    def __init__(self, inspection: probe.Inspection, source: Path, out_dir: Path) -> None:
        self.began = time.monotonic()
        self.plan = copy.plan(inspection)
        self.out_dir = out_dir
        self._stop = False
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._runs = [
            self._pool.submit(ffmpeg.run, copy.remux_args(self.plan, source, out_dir),
                              timeout=settings.PROCESSING_TIMEOUT_SECONDS,
                              on_progress=lambda block: not self._stop),
            self._pool.submit(ffmpeg.run, copy.poster_args(self.plan, source, out_dir),
                              timeout=settings.PROCESSING_TIMEOUT_SECONDS),
        ]

    def __enter__(self) -> Cut:
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop = True
        self._pool.shutdown(wait=True)

    def wait(self) -> None:
        """Until both are done; FFmpegError if either failed."""
        for run in self._runs:
            run.result()

    def abandon(self) -> None:
        """Not standard after all: the remux stops at its next progress report and what
        it wrote goes, before the ladder writes its own sound where the copy's was."""
        self._stop = True
        for run in self._runs:
            try:
                run.result()
            except ffmpeg.FFmpegError:
                pass
        self.remove()

    def remove(self) -> None:
        for name in (copy.COPY_NAME, encode.AUDIO_NAME):
            shutil.rmtree(self.out_dir / name, ignore_errors=True)
        for name in (encode.POSTER_NAME, encode.MASTER_NAME):
            (self.out_dir / name).unlink(missing_ok=True)


def copy_first(job: ProcessingJob, inspection: probe.Inspection, cut: Cut, limit: float,
               whose: str) -> FirstRendition | None:
    """Publish the stream copy once it is made. None if it failed (the ladder alone then
    makes the asset playable, as for any other input)."""
    out_dir = cut.out_dir
    try:
        cut.wait()
        decoded = outputs.check_decoded(inspection, cut.plan, out_dir)
    except (ffmpeg.FFmpegError, MediaError) as exc:
        log.warning("job %s: the stream copy failed (%s); encoding", job.id, exc)
        cut.remove()
        return None
    check_limit(inspection, decoded, limit, whose)
    rows = outputs.rendition_rows(cut.plan, out_dir)
    # Only the copy's: the ladder is being written beside it, into the same folder.
    files = [path for path in outputs.published_files(out_dir)
             if path.name == encode.POSTER_NAME
             or path.relative_to(out_dir).parts[0] in (copy.COPY_NAME, encode.AUDIO_NAME)]
    asset = job.asset
    if asset.status != Asset.Status.PREPARING:  # made playable by an earlier attempt
        return FirstRendition(rows=rows, files=frozenset())
    # Linked (or uploaded), not moved: the ladder's check reads the sound again.
    storage.put_tree(out_dir, files, job.output_prefix, keep=True)
    usage.storage_stored(environment_id=asset.environment_id, kind=StorageKind.RENDITIONS,
                         name=job.output_prefix, size=sum(p.stat().st_size for p in files))
    record_inspection(asset, inspection, decoded)
    if not processing.job_publish_first(job=job, renditions=rows, how="its stream copy",
                                        max_resolution=ladder.resolution_label(cut.plan.rungs)):
        return FirstRendition(rows=rows, files=frozenset())
    log.info("job %s: asset %s plays from its stream copy after %.2f s; encoding its ladder",
             job.id, asset.id, time.monotonic() - cut.began)
    return FirstRendition(rows=rows, files=frozenset(files))


@dataclass
class Growing:
    """The ladder published while it is encoded (this module's docstring). `enabled`
    false (a stream copy plays already, or a clip): `step` does nothing."""

    job: ProcessingJob
    plan: encode.EncodePlan
    inspection: probe.Inspection
    out_dir: Path
    snapshots: Path  # copies of the playlists as stored, outside out_dir
    enabled: bool
    published: bool = False
    stored: set[Path] = field(default_factory=set)  # init segments and segments

    def step(self) -> None:
        """One heartbeat's work: publish once every rendition has its first segment,
        then store what is new."""
        if not self.enabled:
            return
        names = [rung.name for rung in self.plan.rungs]
        if self.plan.has_audio:
            names.append(encode.AUDIO_NAME)
        listed = {name: self._listed(name) for name in names}
        if not self.published:
            if not all(text and outputs.listed_seconds(text) >= FIRST_SECONDS
                       for text in listed.values()):
                return
            self._store(listed)
            asset = self.job.asset
            if asset.status != Asset.Status.PREPARING:  # an earlier attempt's ladder plays
                self.enabled = False
                return
            record_inspection(asset, self.inspection, None)
            rows = outputs.rendition_rows(self.plan, self.out_dir)
            self.published = processing.job_publish_first(
                job=self.job, renditions=rows, how="its first encoded segments",
                max_resolution=ladder.resolution_label(self.plan.rungs))
            self.enabled = self.published
            if self.published:
                log.info("job %s: asset %s plays from its first encoded segments",
                         self.job.id, asset.id)
            return
        self._store(listed)

    def _listed(self, name: str) -> str:
        try:
            return (self.out_dir / name / "index.m3u8").read_text()
        except FileNotFoundError:
            return ""

    def _store(self, listed: dict[str, str]) -> None:
        """The new segments of each rendition, then its playlist as it was read (so it
        never names a segment not yet stored)."""
        self.snapshots.mkdir(parents=True, exist_ok=True)
        for name, text in listed.items():
            folder = self.out_dir / name
            files = [folder / line for line in text.splitlines()
                     if line and not line.startswith("#")]
            files += [folder / uri for uri in _MAP_URI.findall(text)]  # init segments
            new = [path for path in files if path not in self.stored and path.exists()]
            storage.put_tree(self.out_dir, new, self.job.output_prefix, keep=True)
            self.stored.update(new)
            snapshot = self.snapshots / f"{name}.m3u8"
            snapshot.write_text(text)
            storage.store_file(snapshot, f"{self.job.output_prefix}/{name}/index.m3u8", keep=True)

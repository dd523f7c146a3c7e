"""One processing attempt: inspect, encode every rendition in one FFmpeg run, check what
was decoded against what the headers declared, publish.

Everything is written to a private temp folder, copied to storage under the attempt's
own prefix, and only then switched in by one database transaction. The database says
which prefix an asset plays from; a crashed or superseded attempt's files are swept.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from foundation.usage import services as usage
from foundation.usage.models import StorageKind
from media_core import ffmpeg, storage
from media_core.models import Asset, ProcessingJob
from media_core.services import processing
from media_core.services.assets import (
    asset_discard_master,
    asset_record_inspection,
    asset_set_master,
)

from . import copy, encode, fetch, ladder, outputs, probe
from .clip_source import Trim, clip_source
from .errors import MediaError

log = logging.getLogger("kino.processing")

HEARTBEAT_SECONDS = 1.0
# Messages FFmpeg prints when the input itself is broken, as opposed to a crash.
_DAMAGED_INPUT = ("Invalid data found", "corrupt", "Error while decoding", "moov atom not found",
                  "Invalid NAL", "error reading header", "End of file")


class JobLost(Exception):
    """Another worker owns the job now, or it was cancelled."""


def run_job(job_id: str) -> None:
    # The attempt's work is counted from its claim, as the job's own started_at is.
    began = timezone.now()
    job = processing.job_claim(job_id=job_id)
    if job is None:
        log.info("job %s is not queued; nothing to do", job_id)
        return
    log.info("job %s attempt %s started for %s", job.id, job.attempts, job.asset_id)
    settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
    # A killed earlier attempt of this job leaves its work folder behind; we hold the
    # lease now, so nobody else is using it.
    for stale in settings.PROCESSING_TMP_DIR.glob(f"{job.id}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f"{job.id}-", dir=settings.PROCESSING_TMP_DIR))
    try:
        _attempt(job, work)
    except MediaError as exc:
        log.info("job %s: %s (%s)", job.id, exc.message, exc.code)
        processing.job_fail(job=job, code=exc.code, message=exc.message,
                            stderr_tail=exc.stderr_tail, permanent=True)
        if not _plays_from(job):
            # A refused file is not kept: nothing of it stays in storage.
            refused = asset_discard_master(asset=job.asset)
            if refused:
                storage.delete_tree(refused.rsplit("/", 1)[0])
        _drop_output(job)
    except fetch.InputUnavailable as exc:
        log.info("job %s: %s", job.id, exc.message)
        processing.job_fail(job=job, code=exc.code, message=exc.message, permanent=False)
    except JobLost:
        log.warning("job %s attempt %s lost its lease; stopping", job.id, job.attempts)
        _drop_output(job)
    except ffmpeg.FFmpegError as exc:
        if exc.timed_out:
            processing.job_fail(job=job, code="processing_timeout",
                                message="Processing took longer than the time limit.",
                                stderr_tail=exc.stderr_tail, permanent=True)
        else:
            processing.job_fail(job=job, code="encoder_failed", message=str(exc),
                                stderr_tail=exc.stderr_tail, permanent=False)
        _drop_output(job)
    except Exception as exc:
        # Storage or database trouble: record it on the job and let a later attempt try.
        log.exception("job %s attempt %s failed", job.id, job.attempts)
        processing.job_fail(job=job, code="internal_error", message=f"{type(exc).__name__}: {exc}",
                            permanent=False)
        _drop_output(job)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        # Whatever the outcome, the attempt's work was done (once per attempt): until the
        # job finished, or was handed on, not counting what its commit set off.
        ended = job.finished_at or timezone.now()
        processing.job_record_usage(job=job, seconds=(ended - began).total_seconds())


def _plays_from(job: ProcessingJob) -> bool:
    """Whether the asset plays from this attempt's folder (its stream copy was published)."""
    return Asset.objects.filter(pk=job.asset_id, media_prefix=job.output_prefix,
                                deleted_at=None).exists()


def _drop_output(job: ProcessingJob) -> None:
    """A failed attempt's files go, unless viewers play its stream copy from them: then
    they stay until a later attempt's folder takes over (and the sweep removes these)."""
    if not _plays_from(job):
        storage.delete_tree(job.output_prefix)


def _attempt(job: ProcessingJob, work: Path) -> None:
    asset: Asset = job.asset
    out_dir = work / "out"
    out_dir.mkdir()
    if not asset.master_name and asset.input_url:
        _import(job, asset)
    with _source(asset, work) as (source, trim):
        inspection = probe.inspect(source)
        if trim is not None:  # a clip: what the headers say of the part it is cut from
            inspection = replace(
                inspection, duration=trim.length,
                video=inspection.video and replace(inspection.video, duration=trim.length),
                audio=inspection.audio and replace(inspection.audio, duration=trim.length))
        limit, whose = _duration_limit(asset)
        if inspection.duration > limit:
            raise MediaError("duration_too_long",
                             f"The {inspection.kind} lasts {inspection.duration:.1f} s; {whose} "
                             f"accepts at most {limit:g} s.")
        # Sound alone has no ladder: its one rendition is the audio.
        rungs = (ladder.plan(inspection.video.width, inspection.video.height,
                             max_resolution=settings.MAX_RESOLUTION) if inspection.video else [])
        plan = encode.make_plan(inspection, rungs)
        if not processing.job_heartbeat(job=job, progress=0.0, stage="encoding"):
            raise JobLost()
        first = _copy_first(job, inspection, source, out_dir, limit, whose) if trim is None else None
        # The stream copy's sound is the asset's: the ladder encodes pictures alone then.
        encode_plan = replace(plan, has_audio=False) if first and plan.has_audio else plan
        encoded = _encode(job, encode_plan, source, out_dir, inspection.duration, trim)
    # Headers can lie or describe more than the file still holds: the asset's duration
    # is what was decoded, and a file that falls short of its headers is refused.
    decoded = outputs.check_decoded(inspection, plan, out_dir, encoded.stderr_tail)
    _check_limit(inspection, decoded, limit, whose)
    _record_inspection(asset, inspection, decoded)
    renditions = outputs.rendition_rows(plan, out_dir)
    if first is not None:  # the stream copy stays the top variant
        renditions = [row for row in first.rows if row["kind"] == "video"] + renditions
    if not processing.job_heartbeat(job=job, progress=1.0, stage="publishing"):
        raise JobLost()
    published = outputs.published_files(out_dir)
    size = sum(path.stat().st_size for path in published)
    storage.put_tree(out_dir, [p for p in published if p not in (first.files if first else ())],
                     job.output_prefix)
    # Recorded as stored at once: a lost attempt's folder is deleted (and let go) like any.
    usage.storage_stored(environment_id=asset.environment_id, kind=StorageKind.RENDITIONS,
                         name=job.output_prefix, size=size)
    if not processing.job_succeed(job=job, renditions=renditions,
                                  max_resolution=ladder.resolution_label(rungs)):
        raise JobLost()
    log.info("job %s attempt %s: asset %s is ready", job.id, job.attempts, asset.id)


@dataclass
class FirstRendition:
    """What the stream copy made: its rendition rows, and the files already in storage
    (empty when an earlier attempt had made the asset playable: all go at the end)."""

    rows: list[dict]
    files: frozenset[Path]


def _copy_first(job: ProcessingJob, inspection: probe.Inspection, source: Path, out_dir: Path,
                limit: float, whose: str) -> FirstRendition | None:
    """A standard input (copy.py) is cut into HLS as it is and published: the asset plays
    while its ladder is encoded into the same folder. None when it is not standard, or
    the copy fails (the ladder alone then makes it playable, as for any other input)."""
    if not settings.REMUX_FIRST or inspection.video is None:
        return None
    verdict = copy.judge(inspection, source)
    if not verdict.copy:
        log.info("job %s: no stream copy (%s); encoding", job.id, verdict.reason)
        return None
    began = time.monotonic()
    copy_plan = copy.plan(inspection)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            poster = pool.submit(ffmpeg.run, copy.poster_args(copy_plan, source, out_dir),
                                 timeout=settings.PROCESSING_TIMEOUT_SECONDS)
            ffmpeg.run(copy.remux_args(copy_plan, source, out_dir),
                       timeout=settings.PROCESSING_TIMEOUT_SECONDS)
            poster.result()
        decoded = outputs.check_decoded(inspection, copy_plan, out_dir)
    except (ffmpeg.FFmpegError, MediaError) as exc:
        log.warning("job %s: the stream copy failed (%s); encoding", job.id, exc)
        for name in (copy.COPY_NAME, encode.AUDIO_NAME):
            shutil.rmtree(out_dir / name, ignore_errors=True)
        for name in (encode.POSTER_NAME, encode.MASTER_NAME):
            (out_dir / name).unlink(missing_ok=True)
        return None
    _check_limit(inspection, decoded, limit, whose)
    rows = outputs.rendition_rows(copy_plan, out_dir)
    files = outputs.published_files(out_dir)
    asset = job.asset
    if asset.status != Asset.Status.PREPARING:  # made playable by an earlier attempt
        return FirstRendition(rows=rows, files=frozenset())
    # Linked (or uploaded), not moved: the ladder's check reads the sound again.
    storage.put_tree(out_dir, files, job.output_prefix, keep=True)
    usage.storage_stored(environment_id=asset.environment_id, kind=StorageKind.RENDITIONS,
                         name=job.output_prefix, size=sum(p.stat().st_size for p in files))
    _record_inspection(asset, inspection, decoded)
    if not processing.job_publish_first(job=job, renditions=rows,
                                        max_resolution=ladder.resolution_label(copy_plan.rungs)):
        return FirstRendition(rows=rows, files=frozenset())
    log.info("job %s: asset %s plays from its stream copy after %.2f s; encoding its ladder",
             job.id, asset.id, time.monotonic() - began)
    return FirstRendition(rows=rows, files=frozenset(files))


def _check_limit(inspection: probe.Inspection, decoded: outputs.Decoded, limit: float,
                 whose: str) -> None:
    if decoded.duration > limit:  # the header understated it
        raise MediaError("duration_too_long",
                         f"The {inspection.kind} lasts {decoded.duration:.1f} s; {whose} accepts "
                         f"at most {limit:g} s.")


def _record_inspection(asset: Asset, inspection: probe.Inspection,
                       decoded: outputs.Decoded) -> None:
    asset_record_inspection(asset=asset, duration=round(decoded.duration, 3),
                            tracks=inspection.tracks(video_seconds=decoded.video,
                                                     audio_seconds=decoded.audio),
                            aspect_ratio=inspection.aspect_ratio or "")


def _duration_limit(asset: Asset) -> tuple[float, str]:
    """The longest video the asset accepts, and whose limit that is.

    Every asset has one: a file can declare hours in a few bytes. The environment's
    limit is read now, not when the asset was made, so lowering it holds for assets
    still waiting to be processed; an asset's own limit can only be lower.
    """
    environment = asset.environment
    if asset.max_duration and asset.max_duration < environment.asset_max_duration:
        return asset.max_duration, "this asset"
    return environment.asset_max_duration, f"the environment {environment.name}"


def _import(job: ProcessingJob, asset: Asset) -> None:
    """Fetch the original of a URL import into storage and record it on the asset."""

    def on_progress(received: int, total: int | None) -> None:
        progress = min(received / total, 1.0) if total else 0.0
        if not processing.job_heartbeat(job=job, progress=progress, stage="downloading"):
            raise JobLost()

    folder = f"imports/{asset.id}"
    name, size = fetch.fetch_to_storage(url=asset.input_url, folder=folder,
                                        max_bytes=settings.UPLOAD_MAX_BYTES,
                                        on_progress=on_progress)
    if not asset_set_master(asset=asset, master_name=name, master_size=size):
        fetch.discard(name, folder)
        asset.refresh_from_db(fields=["master_name", "master_size", "deleted_at"])
        if not asset.master_name or asset.deleted_at:
            raise JobLost()
    if not processing.job_heartbeat(job=job, progress=0.0, stage="inspecting"):
        raise JobLost()


@contextmanager
def _source(asset: Asset, work: Path) -> Iterator[tuple[Path, Trim | None]]:
    """The file to encode, and for a clip the part of it to keep."""
    if asset.source_asset_id:
        with clip_source(asset, work) as (path, trim):
            yield path, trim
        return
    # In the job's own work folder: what a killed worker leaves is the job's, which the
    # next sweep of this machine's scratch space recognises (processing/scratch.py).
    with storage.local_copy(asset.master_name, folder=work) as path:
        yield path, None


def _encode(job: ProcessingJob, plan: encode.EncodePlan, source: Path, out_dir: Path,
            duration: float, trim: Trim | None = None) -> ffmpeg.RunResult:
    for rung in plan.rungs:
        (out_dir / rung.name).mkdir()
    if plan.has_audio:
        (out_dir / encode.AUDIO_NAME).mkdir()
    last_beat = [0.0]

    def on_progress(block: dict[str, str]) -> bool:
        now = time.monotonic()
        if now - last_beat[0] < HEARTBEAT_SECONDS and block.get("progress") != "end":
            return True
        last_beat[0] = now
        try:
            done = int(block.get("out_time_us", "0")) / 1_000_000
        except ValueError:
            done = 0.0
        return processing.job_heartbeat(job=job, progress=min(done / duration, 0.99))

    args = encode.build_args(plan, source, out_dir, trim=trim)
    try:
        return ffmpeg.run(args, timeout=settings.PROCESSING_TIMEOUT_SECONDS, on_progress=on_progress)
    except ffmpeg.FFmpegError as exc:
        if exc.aborted:
            raise JobLost() from exc
        if exc.returncode and exc.returncode > 0 and any(m in exc.stderr_tail for m in _DAMAGED_INPUT):
            raise MediaError("malformed", "The video is damaged and could not be decoded.",
                             exc.stderr_tail) from exc
        raise

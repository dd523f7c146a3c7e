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
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import replace
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
    asset_set_master,
)

from . import copy, early, encode, fetch, ladder, outputs, probe
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
        # A stream copy is cut from when the headers allow it, beside the read of the
        # packets that decides whether it may be published.
        candidate = trim is None and _standard_headers(job, inspection)
        with early.Cut(inspection, source, out_dir) if candidate else nullcontext() as cut:
            if cut is not None and not _standard_packets(job, inspection, source):
                cut.abandon()
                cut = None
            encoded, first_rendition, growing = _encode_with_copy(
                job, plan, inspection, source, work, trim, cut, limit, whose)
    outputs.finish_playlists(out_dir)
    # Headers can lie or describe more than the file still holds: the asset's duration
    # is what was decoded, and a file that falls short of its headers is refused.
    decoded = outputs.check_decoded(inspection, plan, out_dir, encoded.stderr_tail)
    early.check_limit(inspection, decoded, limit, whose)
    early.record_inspection(asset, inspection, decoded)
    renditions = outputs.rendition_rows(plan, out_dir)
    if first_rendition is not None:  # the stream copy stays the top variant
        renditions = [row for row in first_rendition.rows if row["kind"] == "video"] + renditions
    if not processing.job_heartbeat(job=job, progress=1.0, stage="publishing"):
        raise JobLost()
    published = outputs.published_files(out_dir)
    size = sum(path.stat().st_size for path in published)
    stored = (first_rendition.files if first_rendition else frozenset()) | growing.stored
    storage.put_tree(out_dir, [p for p in published if p not in stored], job.output_prefix)
    # Recorded as stored at once: a lost attempt's folder is deleted (and let go) like any.
    usage.storage_stored(environment_id=asset.environment_id, kind=StorageKind.RENDITIONS,
                         name=job.output_prefix, size=size)
    if not processing.job_succeed(job=job, renditions=renditions,
                                  max_resolution=ladder.resolution_label(rungs)):
        raise JobLost()
    log.info("job %s attempt %s: asset %s is ready", job.id, job.attempts, asset.id)


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


class _EncodeAgain(Exception):
    """The encode running beside the stream copy left the sound and the poster to it, and
    the copy failed."""


def _standard_headers(job: ProcessingJob, inspection: probe.Inspection) -> bool:
    """Whether the input's headers allow a stream copy of it first (copy.py)."""
    if not settings.REMUX_FIRST or inspection.video is None:
        return False
    return _judged(job, copy.judge_headers(inspection))


def _standard_packets(job: ProcessingJob, inspection: probe.Inspection, source: Path) -> bool:
    return _judged(job, copy.judge_packets(inspection, source))


def _judged(job: ProcessingJob, verdict: copy.Verdict) -> bool:
    if not verdict.copy:
        log.info("job %s: no stream copy (%s); encoding", job.id, verdict.reason)
    return verdict.copy


def _encode_with_copy(job: ProcessingJob, plan: encode.EncodePlan, inspection: probe.Inspection,
                      source: Path, work: Path, trim: Trim | None, cut: early.Cut | None,
                      limit: float, whose: str
                      ) -> tuple[ffmpeg.RunResult, early.FirstRendition | None, early.Growing]:
    """The ladder; with a stream copy being cut (`cut`), pictures alone (the copy's
    sound is the asset's) while the copy is published beside it; without one, or if the
    copy fails, the whole plan, growing (early.Growing)."""
    out_dir = work / "out"
    copying = cut is not None
    encode_plan = replace(plan, has_audio=False) if copying and plan.has_audio else plan
    growing = early.Growing(job=job, plan=encode_plan, inspection=inspection,
                            out_dir=out_dir, snapshots=work / "growing",
                            enabled=trim is None and not copying)
    first: list[early.FirstRendition | None] = [None]

    def copy_beside_the_ladder() -> None:
        first[0] = early.copy_first(job, inspection, cut, limit, whose)
        if first[0] is None:  # the copy failed: the ladder makes the sound and poster too
            raise _EncodeAgain()

    try:
        encoded = _encode(job, encode_plan, source, out_dir, inspection.duration, trim,
                          during=copy_beside_the_ladder if copying else None,
                          each_beat=growing.step,
                          poster_path=work / "ladder-poster.jpg" if copying else None)
    except _EncodeAgain:
        for rung in plan.rungs:  # what the stopped encode had written
            shutil.rmtree(out_dir / rung.name, ignore_errors=True)
        growing = replace(growing, plan=plan, enabled=True)
        encoded = _encode(job, plan, source, out_dir, inspection.duration, trim,
                          each_beat=growing.step)
    return encoded, first[0], growing


def _encode(job: ProcessingJob, plan: encode.EncodePlan, source: Path, out_dir: Path,
            duration: float, trim: Trim | None = None, *,
            during: Callable[[], None] | None = None,
            each_beat: Callable[[], None] | None = None,
            poster_path: Path | None = None) -> ffmpeg.RunResult:
    """The ladder's FFmpeg, in a thread of its own; meanwhile this thread runs `during`
    (the stream copy) once, then renews the job's lease and runs `each_beat` (storing
    what is new of a growing ladder) every HEARTBEAT_SECONDS until FFmpeg is done."""
    for rung in plan.rungs:
        (out_dir / rung.name).mkdir(exist_ok=True)
    if plan.has_audio:
        (out_dir / encode.AUDIO_NAME).mkdir(exist_ok=True)
    state = {"done": 0.0, "stop": False}

    def on_progress(block: dict[str, str]) -> bool:
        try:
            state["done"] = int(block.get("out_time_us", "0")) / 1_000_000
        except ValueError:
            pass
        return not state["stop"]

    args = encode.build_args(plan, source, out_dir, trim=trim, poster_path=poster_path)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(ffmpeg.run, args, timeout=settings.PROCESSING_TIMEOUT_SECONDS,
                                  on_progress=on_progress, nice=settings.ENCODE_NICE)
            try:
                if during is not None:
                    during()
                while True:
                    try:
                        return running.result(timeout=HEARTBEAT_SECONDS)
                    except TimeoutError:
                        pass
                    progress = min(state["done"] / duration, 0.99)
                    if not processing.job_heartbeat(job=job, progress=progress):
                        state["stop"] = True  # FFmpeg stops at its next progress report
                    elif each_beat is not None:
                        each_beat()
            finally:
                # Left early (the copy failed, storage or the database raised): FFmpeg
                # stops at its next progress report, and the pool waits for that.
                if not running.done():
                    state["stop"] = True
    except ffmpeg.FFmpegError as exc:
        if exc.aborted:
            raise JobLost() from exc
        if exc.returncode and exc.returncode > 0 and any(m in exc.stderr_tail for m in _DAMAGED_INPUT):
            raise MediaError("malformed", "The video is damaged and could not be decoded.",
                             exc.stderr_tail) from exc
        raise

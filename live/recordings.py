"""A finished live run's recordings become its asset's original.

nginx-rtmp writes one FLV per publish session on its node. The node stores each
finished file in media storage itself (live/ingest/recordings.py), as the platform's
answer to its reports names it (`recordings_to_store`), and its next report says so
(`recordings_stored`). When the run is over and every session's file is stored, the
files (several when the encoder reconnected within the reconnect window) are joined
without re-encoding into one MP4, stored as the asset's original, and the asset goes
through the same processing as an upload. No machine reads another's disk.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from foundation import metrics
from foundation.context import Actor
from foundation.tasks import enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import JobType, StorageKind
from media_core import ffmpeg
from media_core.models import Asset
from media_core.services import assets as asset_services
from media_core.storage import local_copy, media_storage, move_into

from .models import LiveSession, LiveStream
from .selectors import ingest_nodes_in_state

log = logging.getLogger("kino.live")
RECORDINGS = Actor.system("live recording")
REMUX_TIMEOUT = 3600
# nginx-rtmp reports a finished recording file within a millisecond of the encoder
# stopping; a session with no file after this recorded nothing.
RECORD_DONE_WAIT = timedelta(seconds=10)
# A node that stopped or went silent with recordings not yet stored has this long
# (from the session's end) to come back and store them; then the run is joined from
# what is stored.
STORE_WAIT = timedelta(minutes=10)


def stored_name(session: LiveSession) -> str:
    """Where a session's recording goes in media storage: with its asset, so deleting
    the asset deletes it."""
    return f"recordings/{session.asset_id}/sessions/{session.id}.flv"


def recordings_to_store(node: str) -> list[dict]:
    """The node's finished recording files and where each goes (no name: remove it)."""
    wanted = []
    for session in (LiveSession.objects.filter(node=node, recording_name="")
                    .exclude(recording_path="").select_related("asset")):
        keep = session.asset is not None and session.asset.deleted_at is None
        wanted.append({"session": session.id, "path": session.recording_path,
                       "name": stored_name(session) if keep else ""})
    return wanted


def recordings_stored(node: str, reports: list[dict]) -> None:
    """The node's word on the files it was asked to store or remove."""
    for report in reports:
        session = (LiveSession.objects.filter(pk=str(report.get("session", "")), node=node)
                   .exclude(recording_path="").select_related("stream").first())
        if session is None:
            continue
        outcome = report.get("outcome")
        if outcome == "stored" and session.asset_id and report.get("name") == stored_name(session):
            LiveSession.objects.filter(pk=session.pk).update(recording_name=report["name"])
            usage.storage_stored(environment_id=session.stream.environment_id,
                                 kind=StorageKind.RECORDINGS, name=report["name"],
                                 size=max(_bytes(report.get("bytes")), 0))
            _finalise_if_run_over(session)
        elif outcome in ("discarded", "missing"):
            if outcome == "missing":
                log.warning("the recording of session %s is not on node %s", session.id, node)
            LiveSession.objects.filter(pk=session.pk).update(recording_path="")
            _finalise_if_run_over(session)


def _bytes(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _finalise_if_run_over(session: LiveSession) -> None:
    current = (LiveStream.objects.filter(pk=session.stream_id)
               .values_list("recording_asset_id", flat=True).first())
    if session.asset_id and session.asset_id != current:
        # The run ended before this file was stored: its recording can be assembled now.
        enqueue_on_commit("live.tasks.finalise_recording", session.asset_id)


def _node_may_store(session: LiveSession, now) -> bool:
    """Whether the session's file can still be expected in storage."""
    reporting = ingest_nodes_in_state("reporting", now).filter(name=session.node).exists()
    return reporting or session.ended_at > now - STORE_WAIT


def remux_args(files: list[Path], list_file: Path, out: Path) -> list[str]:
    list_file.write_text("".join(f"file '{f}'\n" for f in files))
    return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-protocol_whitelist", "file", "-format_whitelist", "concat,flv",
            "-f", "concat", "-safe", "0", "-i", str(list_file),
            "-map", "0", "-c", "copy", "-movflags", "+faststart", "-y", str(out)]


def finalise_recording(asset_id: str) -> str:
    """Turn the run's stored files into the asset's original; safe to run twice."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or asset.deleted_at or asset.master_name or asset.status != Asset.Status.PREPARING:
        return "nothing to do"
    sessions = list(LiveSession.objects.filter(asset_id=asset_id).order_by("started_at", "id"))
    if any(s.ended_at is None for s in sessions):
        return "a session is still open"  # its recording's storing queues this again
    now = timezone.now()
    if any(not s.recording_path and not s.recording_name and s.ended_at > now - RECORD_DONE_WAIT
           for s in sessions):
        return "waiting for a recording file"  # likewise
    unstored = [s for s in sessions if s.recording_path and not s.recording_name]
    if any(_node_may_store(s, now) for s in unstored):
        return "waiting for the ingest node to store a recording"  # likewise
    for session in unstored:
        log.warning("the recording of session %s never left node %s", session.id, session.node)
    storage = media_storage()
    names = [s.recording_name for s in sessions if s.recording_name]
    names = [name for name in names if storage.exists(name) and storage.size(name) > 0]
    if not names:
        asset_services.asset_fail_without_media(
            asset=asset, code="no_media_recorded",
            message="The live stream sent no media to record.", actor=RECORDINGS)
        metrics.LIVE_RECORDINGS.labels("no_media").inc()
        return "no media"
    settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"rec-{asset_id}-", dir=settings.PROCESSING_TMP_DIR))
    began = time.monotonic()
    try:
        with ExitStack() as stack:
            files = [stack.enter_context(local_copy(name, work)) for name in names]
            out = work / "recording.mp4"
            ffmpeg.run(remux_args(files, work / "parts.txt", out), timeout=REMUX_TIMEOUT)
        size = out.stat().st_size
        name = f"recordings/{asset_id}/recording.mp4"
        if not move_into(storage, out, name):
            with out.open("rb") as fh:
                name = storage.save(name, fh)
        if not asset_services.asset_process_recording(asset=asset, master_name=name,
                                                      master_size=size, actor=RECORDINGS):
            storage.delete(name)
            return "stored before"
    except Exception:
        metrics.LIVE_RECORDINGS.labels("failed").inc()  # the task is retried
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    metrics.LIVE_RECORDINGS.labels("stored").inc()
    usage.processing_record(key=f"live_recording:{asset_id}", environment_id=asset.environment_id,
                            job_type=JobType.LIVE_RECORDING, seconds=time.monotonic() - began)
    for stored in names:
        storage.delete(stored)
    usage.storage_forget(names=names)
    log.info("recording of %s stored (%d files, %d bytes)", asset_id, len(names), size)
    return name


def pending_recordings() -> list[str]:
    """Recordings of finished runs that still wait for their original."""
    current = LiveStream.objects.exclude(recording_asset=None).values("recording_asset_id")
    return list(Asset.objects.filter(live_stream_id__isnull=False, status=Asset.Status.PREPARING,
                                     master_name="", deleted_at__isnull=True, jobs__isnull=True)
                .exclude(pk__in=current).values_list("id", flat=True))

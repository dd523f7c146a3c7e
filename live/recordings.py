"""A finished live run's recording files become its asset's original.

nginx-rtmp writes one FLV per publish session under LIVE_DIR/rec. When the run ends,
the files of its sessions (several when the encoder reconnected within the reconnect
window) are joined without re-encoding into one MP4, stored as the asset's original,
and the asset goes through the same processing as an upload.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from foundation import metrics
from foundation.context import Actor
from foundation.usage import services as usage
from foundation.usage.models import JobType
from media_core import ffmpeg
from media_core.models import Asset
from media_core.services import assets as asset_services
from media_core.storage import media_storage, move_into

from .models import LiveSession

log = logging.getLogger("kino.live")
RECORDINGS = Actor.system("live recording")
REMUX_TIMEOUT = 3600
# nginx-rtmp reports a finished recording file within a millisecond of the encoder
# stopping; a session with no file after this recorded nothing.
RECORD_DONE_WAIT = timedelta(seconds=10)


def recordings_dir() -> Path:
    return settings.LIVE_DIR / "rec"


def _own_file(path: str) -> Path | None:
    """The path, if it is a recording file under our directory (never anything else)."""
    if not path:
        return None
    candidate = Path(path).resolve()
    root = recordings_dir().resolve()
    if root not in candidate.parents or candidate.suffix != ".flv":
        log.warning("ignoring a recording outside %s", root)
        return None
    return candidate


def discard_file(path: str) -> None:
    own = _own_file(path)
    if own is not None:
        own.unlink(missing_ok=True)


def remux_args(files: list[Path], list_file: Path, out: Path) -> list[str]:
    list_file.write_text("".join(f"file '{f}'\n" for f in files))
    return [settings.FFMPEG_BIN, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-protocol_whitelist", "file", "-format_whitelist", "concat,flv",
            "-f", "concat", "-safe", "0", "-i", str(list_file),
            "-map", "0", "-c", "copy", "-movflags", "+faststart", "-y", str(out)]


def finalise_recording(asset_id: str) -> str:
    """Turn the run's files into the asset's original; safe to run twice."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or asset.deleted_at or asset.master_name or asset.status != Asset.Status.PREPARING:
        return "nothing to do"
    sessions = list(LiveSession.objects.filter(asset_id=asset_id).order_by("started_at", "id"))
    if any(s.ended_at is None for s in sessions):
        return "a session is still open"  # its on_record_done queues this again
    settle = timezone.now() - RECORD_DONE_WAIT
    if any(not s.recording_path and s.ended_at > settle for s in sessions):
        return "waiting for a recording file"  # likewise
    files = [f for f in (_own_file(s.recording_path) for s in sessions)
             if f is not None and f.exists() and f.stat().st_size > 0]
    if not files:
        asset_services.asset_fail_without_media(
            asset=asset, code="no_media_recorded",
            message="The live stream sent no media to record.", actor=RECORDINGS)
        metrics.LIVE_RECORDINGS.labels("no_media").inc()
        return "no media"
    settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"rec-{asset_id}-", dir=settings.PROCESSING_TMP_DIR))
    began = time.monotonic()
    try:
        out = work / "recording.mp4"
        ffmpeg.run(remux_args(files, work / "parts.txt", out), timeout=REMUX_TIMEOUT)
        size = out.stat().st_size
        name = f"recordings/{asset_id}/recording.mp4"
        storage = media_storage()
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
    for f in files:
        f.unlink(missing_ok=True)
    log.info("recording of %s stored (%d files, %d bytes)", asset_id, len(files), size)
    return name


def pending_recordings() -> list[str]:
    """Recordings of finished runs that still wait for their original."""
    from .models import LiveStream

    current = LiveStream.objects.exclude(recording_asset=None).values("recording_asset_id")
    return list(Asset.objects.filter(live_stream_id__isnull=False, status=Asset.Status.PREPARING,
                                     master_name="", deleted_at__isnull=True, jobs__isnull=True)
                .exclude(pk__in=current).values_list("id", flat=True))

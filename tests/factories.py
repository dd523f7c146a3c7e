"""Objects made through the real services, as the platform itself would make them."""

from __future__ import annotations

from pathlib import Path

from django.core.files import File

from foundation.context import Actor
from media_core.models import Asset, Upload
from media_core.services.uploads import upload_complete, upload_create
from media_core.storage import media_storage

UPLOADER = Actor(kind="upload_url", id="test", label="upload URL")


def upload_for(environment, **settings) -> Upload:
    settings.setdefault("playback_policy", ["public"])
    settings.setdefault("title", "")
    settings.setdefault("passthrough", "")
    return upload_create(environment=environment, actor=Actor.system("tests"),
                         new_asset_settings=settings)


def asset_from_file(environment, path: Path, **settings) -> Asset:
    """Upload a file as a client would and return its asset (processing runs on commit)."""
    return complete(upload_for(environment, **settings), path)


def complete(upload: Upload, path: Path) -> Asset:
    """Send a file to an upload as a client would and return its asset."""
    with open(path, "rb") as fh:
        name = media_storage().save(f"uploads/{upload.id}/master", File(fh, name="master"))
    asset = upload_complete(upload_id=upload.id, master_name=name, size=path.stat().st_size,
                            actor=UPLOADER)
    asset.refresh_from_db()
    return asset


def failed_asset(environment, path: Path, **settings) -> Asset:
    """An asset whose processing failed for a passing reason (an encoder crash, every
    attempt) and so can be retried: its original is kept, unlike a refused file's."""
    from media_core.services import processing

    asset = asset_from_file(environment, path, **settings)
    job = asset.jobs.get()
    type(job).objects.filter(pk=job.pk).update(max_attempts=1)
    job = processing.job_claim(job_id=job.id)
    processing.job_fail(job=job, code="encoder_failed", message="ffmpeg exited with -11",
                        permanent=False)
    asset.refresh_from_db()
    assert asset.status == Asset.Status.ERRORED and asset.master_name
    return asset

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
    upload = upload_for(environment, **settings)
    with open(path, "rb") as fh:
        name = media_storage().save(f"uploads/{upload.id}/master", File(fh, name="master"))
    asset = upload_complete(upload_id=upload.id, master_name=name, size=path.stat().st_size,
                            actor=UPLOADER)
    asset.refresh_from_db()
    return asset

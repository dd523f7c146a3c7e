from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from foundation.audit import audit_record, diff
from foundation.context import Actor
from foundation.statemachine import transition
from media_core.api.serializers import upload_data
from media_core.models import Asset, Environment, Upload
from webhooks.services import event_emit

from .assets import asset_create


def _emit(upload: Upload, type: str) -> None:
    event_emit(environment_id=upload.environment_id, type=type, object_type="upload",
               object_id=upload.id, data=upload_data(upload))


def upload_create(*, environment: Environment, actor: Actor, new_asset_settings: dict[str, Any],
                  cors_origin: str = "", timeout: int | None = None) -> Upload:
    timeout = timeout or settings.UPLOAD_URL_TTL_SECONDS
    with transaction.atomic():
        upload = Upload.objects.create(
            environment=environment,
            new_asset_settings=new_asset_settings,
            cors_origin=cors_origin,
            timeout=timeout,
            expires_at=timezone.now() + timedelta(seconds=timeout),
        )
        audit_record(actor=actor, action="upload.created", object_type="upload",
                     object_id=upload.id, environment_id=environment.id,
                     changes=diff({}, {"status": upload.status, "new_asset_settings": new_asset_settings}))
        _emit(upload, "video.upload.created")
    return upload


def upload_complete(*, upload_id: str, master_name: str, size: int, actor: Actor) -> Asset:
    """The bytes are stored: turn the upload into an asset and start processing.

    Raises InvalidTransition if the upload left `waiting` meanwhile (cancelled, timed
    out, or completed by a concurrent request); the caller then removes its file.
    """
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload_id)
        Upload.TRANSITIONS.check(upload.status, Upload.Status.ASSET_CREATED)
        asset = asset_create(
            environment_id=upload.environment_id,
            actor=actor,
            settings=upload.new_asset_settings,
            master_name=master_name,
            master_size=size,
        )
        transition(upload, Upload.TRANSITIONS, Upload.Status.ASSET_CREATED,
                   extra={"asset": asset, "size_bytes": size})
        audit_record(actor=actor, action="upload.asset_created", object_type="upload",
                     object_id=upload.id, environment_id=upload.environment_id,
                     changes={"status": [Upload.Status.WAITING, upload.status],
                              "asset_id": [None, asset.id]})
        _emit(upload, "video.upload.asset_created")
    return asset


def upload_cancel(*, upload: Upload, actor: Actor) -> Upload:
    with transaction.atomic():
        before = transition(upload, Upload.TRANSITIONS, Upload.Status.CANCELLED)
        audit_record(actor=actor, action="upload.cancelled", object_type="upload",
                     object_id=upload.id, environment_id=upload.environment_id,
                     changes={"status": [before, upload.status]})
        _emit(upload, "video.upload.cancelled")
    return upload


def upload_accepts_bytes(upload: Upload) -> bool:
    return upload.status == Upload.Status.WAITING and upload.expires_at > timezone.now()

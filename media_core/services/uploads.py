from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from foundation import metrics
from foundation.audit import audit_record, diff
from foundation.context import Actor
from foundation.errors import Conflict, InvalidTransition
from foundation.models import Environment
from foundation.statemachine import transition
from foundation.tasks import enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import StorageKind
from media_core import audit_actions, events
from media_core.api.serializers import upload_data
from media_core.models import Asset, Upload
from webhooks.catalogue import EventType
from webhooks.services import event_emit

from .assets import asset_check_max_duration, asset_create


def upload_url_actor(upload: Upload) -> Actor:
    """Whoever holds the upload URL: the audit names the upload, not a person or key."""
    return Actor(kind="upload_url", id=upload.id, label="upload URL")


def _emit(upload: Upload, type: EventType) -> None:
    event_emit(environment_id=upload.environment_id, type=type, object_type="upload",
               object_id=upload.id, data=upload_data(upload))


def upload_create(*, environment: Environment, actor: Actor, new_asset_settings: dict[str, Any],
                  cors_origin: str = "", timeout: int | None = None) -> Upload:
    asset_check_max_duration(environment=environment, settings=new_asset_settings,
                             field="new_asset_settings.max_duration_seconds")
    timeout = timeout or settings.UPLOAD_URL_TTL_SECONDS
    with transaction.atomic():
        upload = Upload.objects.create(
            environment=environment,
            new_asset_settings=new_asset_settings,
            cors_origin=cors_origin,
            timeout=timeout,
            expires_at=timezone.now() + timedelta(seconds=timeout),
        )
        audit_record(actor=actor, action=audit_actions.UPLOAD_CREATED, object_type="upload",
                     object_id=upload.id, environment_id=environment.id,
                     changes=diff({}, {"status": upload.status, "new_asset_settings": new_asset_settings}))
        _emit(upload, events.UPLOAD_CREATED)
        metrics.on_commit(metrics.UPLOADS_CREATED.inc)
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
        usage.storage_stored(environment_id=upload.environment_id, kind=StorageKind.ORIGINALS,
                             name=master_name, size=size)
        audit_record(actor=actor, action=audit_actions.UPLOAD_ASSET_CREATED, object_type="upload",
                     object_id=upload.id, environment_id=upload.environment_id,
                     changes={"status": [Upload.Status.WAITING, upload.status],
                              "asset_id": [None, asset.id]})
        _emit(upload, events.UPLOAD_ASSET_CREATED)
    return asset


def upload_cancel(*, upload: Upload, actor: Actor) -> Upload:
    with transaction.atomic():
        before = transition(upload, Upload.TRANSITIONS, Upload.Status.CANCELLED)
        audit_record(actor=actor, action=audit_actions.UPLOAD_CANCELLED, object_type="upload",
                     object_id=upload.id, environment_id=upload.environment_id,
                     changes={"status": [before, upload.status]})
        _emit(upload, events.UPLOAD_CANCELLED)
        enqueue_on_commit("media_core.tasks.discard_upload_bytes", upload.id)
        metrics.on_commit(metrics.UPLOADS_ABANDONED.labels("cancelled").inc)
    return upload


def upload_accepts_bytes(upload: Upload) -> bool:
    return upload.status == Upload.Status.WAITING and upload.expires_at > timezone.now()


# --- resumable writes ---------------------------------------------------------------
# The database says how many bytes an upload holds (`offset`); the staged file may hold
# more after a crash, and every write truncates it back to the offset first. Only the
# request holding the writer claim may write; the claim is a compare-and-swap on the
# expected offset, so two requests racing at one offset cannot both write.
WRITER_LEASE = timedelta(seconds=60)


def upload_declare_length(*, upload: Upload, length: int, metadata: dict[str, str]) -> Upload:
    """tus creation: fix the total size. Repeating it with the same size is harmless."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(pk=upload.pk)
        Upload.TRANSITIONS.check(upload.status, Upload.Status.ASSET_CREATED)
        if upload.length == length:
            return upload
        if upload.offset:
            raise Conflict(f"This upload already holds {upload.offset} bytes of a "
                           f"{upload.length}-byte file; it cannot change size.",
                           code="upload_length_fixed")
        before = upload.length
        upload.length = length
        upload.metadata = metadata
        upload.filename = metadata.get("filename", "")[:255]
        upload.save(update_fields=["length", "metadata", "filename", "updated_at"])
        audit_record(actor=upload_url_actor(upload),
                     action=audit_actions.UPLOAD_LENGTH_DECLARED, object_type="upload",
                     object_id=upload.id, environment_id=upload.environment_id,
                     changes={"length": [before, length]})
    return upload


def upload_claim_writer(*, upload_id: str, offset: int) -> str | None:
    """Become the one writer of an upload at `offset`; None if offset or claim disagree."""
    token = secrets.token_hex(16)
    now = timezone.now()
    claimed = Upload.objects.filter(
        Q(writer_token="") | Q(writer_expires_at__lt=now),
        pk=upload_id, status=Upload.Status.WAITING, offset=offset,
    ).update(writer_token=token, writer_expires_at=now + WRITER_LEASE)
    return token if claimed else None


def upload_renew_writer(*, upload_id: str, token: str) -> bool:
    return bool(Upload.objects.filter(pk=upload_id, writer_token=token).update(
        writer_expires_at=timezone.now() + WRITER_LEASE))


def upload_release_writer(*, upload_id: str, token: str, offset: int) -> bool:
    """Record the bytes written and let the next request write."""
    return bool(Upload.objects.filter(pk=upload_id, writer_token=token).update(
        offset=offset, writer_token="", writer_expires_at=None, updated_at=timezone.now()))


def upload_fail(*, upload: Upload, code: str, message: str) -> Upload:
    """The upload cannot succeed any more (e.g. more bytes than allowed arrived)."""
    with transaction.atomic():
        before = transition(upload, Upload.TRANSITIONS, Upload.Status.ERRORED,
                            extra={"error_type": code, "error_message": message,
                                   "writer_token": "", "writer_expires_at": None})
        audit_record(actor=upload_url_actor(upload),
                     action=audit_actions.UPLOAD_ERRORED, object_type="upload", object_id=upload.id,
                     environment_id=upload.environment_id,
                     changes={"status": [before, upload.status], "error_type": [None, code]},
                     message=message)
        _emit(upload, events.UPLOAD_ERRORED)
    return upload


def uploads_time_out() -> list[str]:
    """Close the uploads still waiting after their URL expired; their bytes go after commit."""
    expired = []
    now = timezone.now()
    for upload in Upload.objects.filter(status=Upload.Status.WAITING, expires_at__lt=now):
        try:
            with transaction.atomic():
                # Not while a request is still writing: it started in time.
                before = transition(upload, Upload.TRANSITIONS, Upload.Status.TIMED_OUT,
                                    extra={"writer_token": "", "writer_expires_at": None},
                                    fence=Q(writer_token="") | Q(writer_expires_at__lt=now))
                upload.refresh_from_db()
                audit_record(actor=Actor.system("upload expiry"),
                             action=audit_actions.UPLOAD_TIMED_OUT,
                             object_type="upload", object_id=upload.id,
                             environment_id=upload.environment_id,
                             changes={"status": [before, upload.status]},
                             message=f"The upload URL expired at {upload.expires_at.isoformat()}.")
                _emit(upload, events.UPLOAD_TIMED_OUT)
                enqueue_on_commit("media_core.tasks.discard_upload_bytes", upload.id)
                metrics.on_commit(metrics.UPLOADS_ABANDONED.labels("timed_out").inc)
        except InvalidTransition:
            continue  # a request is writing to it, or it was completed or cancelled meanwhile
        expired.append(upload.id)
    return expired

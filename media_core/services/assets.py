from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from foundation import outbound
from foundation.audit import diff
from foundation.context import Actor
from foundation.errors import Conflict, ValidationFailed
from foundation.models import Environment
from foundation.statemachine import transition
from foundation.tasks import enqueue_on_commit
from foundation.usage import services as usage
from foundation.usage.models import StorageKind
from media_core import audit_actions, events
from media_core.models import Asset, PlaybackID, ProcessingJob
from media_core.processing import fetch

from . import processing, publication
from .downloads import downloads_request
from .playback_ids import playback_id_make, playback_id_remove, playback_ids_remove_all
from .records import asset_audit, asset_event

# What editors write about an asset (media_core/api/serializers.AssetMetadataSerializer).
METADATA_FIELDS = ("description", "tags", "metadata", "chapters", "poster_time")


def asset_create(*, environment_id: str, actor: Actor, settings: dict[str, Any],
                 master_name: str = "", master_size: int | None = None,
                 input_url: str = "", start_processing: bool = True,
                 live_stream_id: str | None = None,
                 clip_of: tuple[str, float, float] | None = None) -> Asset:
    """A new asset from stored bytes (or a URL to fetch them from, or `clip_of`: the
    source asset's id, start and end); processing starts when the transaction commits.
    A live recording starts without processing: its original exists only when the
    stream ends (asset_process_recording)."""
    publishing = Environment.objects.filter(pk=environment_id).values_list(
        "publishing", flat=True).first()
    with transaction.atomic():
        asset = Asset.objects.create(
            **publication.initial_state(environment_publishing=publishing,
                                        publish=settings.get("publish")),
            environment_id=environment_id,
            title=settings.get("title", ""),
            passthrough=settings.get("passthrough", ""),
            max_duration=settings.get("max_duration_seconds"),
            allowed_origins=settings.get("allowed_origins", []),
            master_name=master_name,
            master_size=master_size,
            input_url=input_url,
            live_stream_id=live_stream_id,
            mp4_support=settings.get("mp4_support", Asset.Mp4Support.NONE),
            **(dict(zip(("source_asset_id", "clip_start", "clip_end"), clip_of, strict=True))
               if clip_of else {}),
            **{name: settings[name] for name in METADATA_FIELDS if name in settings},
        )
        for policy in settings.get("playback_policy", []):
            playback_id_make(environment_id=environment_id, asset=asset, policy=policy)
        created = {"status": asset.status, "title": asset.title,
                   "passthrough": asset.passthrough}
        if clip_of:
            created.update(source_asset_id=clip_of[0], clip_start=clip_of[1],
                           clip_end=clip_of[2])
        asset_audit(asset, actor, audit_actions.ASSET_CREATED, diff({}, created))
        if start_processing:
            processing.job_create(asset=asset, actor=actor)
        asset_event(asset, events.ASSET_CREATED)
    return asset


def asset_process_recording(*, asset: Asset, master_name: str, master_size: int,
                            actor: Actor) -> bool:
    """A live recording's original is stored: record it and start processing.

    False (and nothing changes) if the asset has its original already or was deleted;
    the caller then deletes its copy.
    """
    with transaction.atomic():
        if not asset_set_master(asset=asset, master_name=master_name, master_size=master_size):
            return False
        asset_audit(asset, actor, audit_actions.ASSET_RECORDING_STORED,
                    {"master_size": [None, master_size]})
        processing.job_create(asset=asset, actor=actor)
    return True


def asset_fail_without_media(*, asset: Asset, code: str, message: str, actor: Actor) -> None:
    """An asset whose original never came to exist (a live run that recorded nothing)."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if asset.deleted_at or asset.status != Asset.Status.PREPARING or asset.master_name:
            return
        before = transition(asset, Asset.TRANSITIONS, Asset.Status.ERRORED,
                            extra={"error_type": code, "error_messages": [message]})
        asset_audit(asset, actor, audit_actions.ASSET_ERRORED, {"status": [before, asset.status]},
                    message=message)
        asset_event(asset, events.ASSET_ERRORED)


def asset_check_input(url: str) -> None:
    """Refuse at once a URL that points somewhere we would never fetch from.

    This resolves the host name, so call it before any transaction opens. The worker
    checks again, and every redirect, when it fetches (DNS answers change).
    """
    try:
        fetch.check_input(url)
    except outbound.OutboundRefused as exc:
        message = fetch.refusal_message(exc)
        raise ValidationFailed(message, code="input_refused", errors={"input": [message]}) from exc
    except outbound.OutboundUnavailable as exc:
        message = "The URL's host name could not be resolved."
        raise ValidationFailed(message, code="input_unresolvable",
                               errors={"input": [message]}) from exc


def asset_check_max_duration(*, environment: Environment, settings: dict[str, Any],
                             field: str = "max_duration_seconds") -> None:
    """Refuse an asset's own limit above its environment's: it could never apply.

    Processing takes the lower of the two anyway (the environment's may be lowered
    later); this tells the caller now instead of letting them believe it.
    """
    own = settings.get("max_duration_seconds")
    limit = environment.asset_max_duration
    if own is not None and own > limit:
        message = (f"Ensure this value is at most {limit} (seconds), the longest video the "
                   f"environment {environment.name} accepts.")
        raise ValidationFailed(message, errors={field: [message]})


def asset_create_from_url(*, environment_id: str, actor: Actor, url: str,
                          settings: dict[str, Any]) -> Asset:
    """A new asset whose original a worker fetches from `url` (see asset_check_input)."""
    asset_check_max_duration(environment=Environment.objects.get(pk=environment_id),
                             settings=settings)
    return asset_create(environment_id=environment_id, actor=actor, settings=settings,
                        input_url=url)


def asset_update(*, asset: Asset, actor: Actor, **fields) -> Asset:
    editable = {"title", "passthrough", "allowed_origins", "mp4_support", *METADATA_FIELDS}
    unknown = set(fields) - editable
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if asset.deleted_at:
            raise Conflict("The asset was deleted.", code="asset_deleted")
        before = {name: getattr(asset, name) for name in fields}
        for name, value in fields.items():
            setattr(asset, name, value)
        changes = diff(before, fields)
        if changes:
            asset.save(update_fields=[*fields, "updated_at"])
            if "mp4_support" in changes:
                downloads_request(asset)
            asset_audit(asset, actor, audit_actions.ASSET_UPDATED, changes)
            asset_event(asset, events.ASSET_UPDATED)
    return asset


def asset_retry_refusal(asset: Asset) -> Conflict | None:
    """Why asset_retry would refuse the asset whatever its status, or None.

    The admin asks before it offers the action, so it never offers one that cannot work.
    """
    if asset.deleted_at:
        return Conflict("The asset was deleted.")
    if not asset.master_name and not asset.input_url and not asset.source_asset_id:
        return Conflict("The original file was refused and is gone; upload it again.",
                        code="original_discarded")
    return None


def asset_retry(*, asset: Asset, actor: Actor) -> Asset:
    """Process a failed asset again from its original file."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        refusal = asset_retry_refusal(asset)
        if refusal is not None:
            raise refusal
        before = transition(asset, Asset.TRANSITIONS, Asset.Status.PREPARING,
                            extra={"error_type": "", "error_messages": [],
                                   "renditions_status": Asset.RenditionsStatus.PREPARING})
        asset_audit(asset, actor, audit_actions.ASSET_RETRIED, {"status": [before, asset.status]})
        processing.job_create(asset=asset, actor=actor)
        asset_event(asset, events.ASSET_UPDATED)
    return asset


def asset_delete(*, asset: Asset, actor: Actor) -> None:
    """Hide the asset at once, stop its playback and jobs; its media is removed after commit."""
    with transaction.atomic():
        asset = Asset.objects.select_for_update().get(pk=asset.pk)
        if asset.deleted_at:
            return
        asset_event(asset, events.ASSET_DELETED)
        for job in asset.jobs.filter(status__in=[ProcessingJob.Status.QUEUED,
                                                 ProcessingJob.Status.RUNNING]):
            processing.job_cancel(job=job, reason="The asset was deleted.")
        playback_ids = playback_ids_remove_all(asset=asset)
        Asset.objects.filter(pk=asset.pk).update(deleted_at=timezone.now())
        asset_audit(asset, actor, audit_actions.ASSET_DELETED,
               {"deleted": [False, True], "playback_ids": [playback_ids, []]})
        enqueue_on_commit("media_core.tasks.delete_asset_media", asset.id)


def playback_id_create(*, asset: Asset, policy: str, actor: Actor) -> PlaybackID:
    with transaction.atomic():
        playback_id = playback_id_make(environment_id=asset.environment_id, asset=asset,
                                       policy=policy)
        asset_audit(asset, actor, audit_actions.PLAYBACK_ID_CREATED,
               {"playback_ids": [None, {"id": playback_id.id, "policy": policy}]})
        asset_event(asset, events.ASSET_UPDATED)
    return playback_id


def playback_id_delete(*, playback_id: PlaybackID, actor: Actor) -> None:
    with transaction.atomic():
        asset = playback_id.asset
        if playback_id_remove(playback_id=playback_id):
            asset_audit(asset, actor, audit_actions.PLAYBACK_ID_DELETED,
                   {"playback_ids": [{"id": playback_id.id, "policy": playback_id.policy}, None]})
            asset_event(asset, events.ASSET_UPDATED)


def asset_discard_master(*, asset: Asset) -> str:
    """Forget a refused original; returns its storage name for the caller to delete."""
    name = asset.master_name
    Asset.objects.filter(pk=asset.pk, master_name=name).update(master_name="", master_size=None)
    return name


def asset_set_master(*, asset: Asset, master_name: str, master_size: int) -> bool:
    """Record the original fetched for an asset that had none.

    False if the asset has one already (another attempt stored it first) or was
    deleted meanwhile: the caller then deletes its own copy.
    """
    with transaction.atomic():
        changed = Asset.objects.filter(pk=asset.pk, master_name="", deleted_at__isnull=True
                                       ).update(master_name=master_name, master_size=master_size,
                                                updated_at=timezone.now())
        if changed:
            asset.master_name, asset.master_size = master_name, master_size
            usage.storage_stored(environment_id=asset.environment_id, name=master_name,
                                 size=master_size,
                                 kind=StorageKind.RECORDINGS if asset.live_stream_id
                                 else StorageKind.ORIGINALS)
    return bool(changed)


def asset_record_inspection(*, asset: Asset, duration: float, tracks: list[dict],
                            aspect_ratio: str) -> None:
    """Media facts from ffprobe, visible while the asset is still preparing."""
    Asset.objects.filter(pk=asset.pk).update(duration=duration, tracks=tracks,
                                             aspect_ratio=aspect_ratio)

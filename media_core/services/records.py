"""The audit entry and the event that every asset change leaves, in its transaction."""

from __future__ import annotations

from foundation.audit import AuditAction, audit_record
from foundation.context import Actor
from media_core.api.serializers import asset_data
from media_core.models import Asset
from webhooks.catalogue import EventType
from webhooks.services import event_emit


def asset_event(asset: Asset, type: EventType) -> None:
    # Re-read relations so the event shows the asset as the API would right now.
    fresh = (Asset.objects.prefetch_related("renditions", "playback_ids", "jobs", "text_tracks")
             .select_related("upload").get(pk=asset.pk))
    event_emit(environment_id=asset.environment_id, type=type, object_type="asset",
               object_id=asset.id, data=asset_data(fresh))


def asset_audit(asset: Asset, actor: Actor, action: AuditAction, changes: dict,
                message: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="asset", object_id=asset.id,
                 environment_id=asset.environment_id, changes=changes, message=message)

"""The audit entry and the event that every live stream change leaves, in its transaction."""

from __future__ import annotations

from foundation.audit import AuditAction, audit_record
from foundation.context import Actor
from webhooks.catalogue import EventType
from webhooks.services import event_emit

from ..api.serializers import live_stream_data, simulcast_target_data
from ..models import LiveStream, SimulcastTarget

# The actor of what the ingest reports: connects, disconnects, going on air and off.
INGEST = Actor.system("live ingest")


def stream_event(stream: LiveStream, type: EventType) -> None:
    fresh = LiveStream.objects.prefetch_related("simulcast_targets").get(pk=stream.pk)
    event_emit(environment_id=stream.environment_id, type=type, object_type="live_stream",
               object_id=stream.id, data=live_stream_data(fresh))


def stream_audit(stream: LiveStream, actor: Actor, action: AuditAction, changes: dict,
                 message: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="live_stream", object_id=stream.id,
                 environment_id=stream.environment_id, changes=changes, message=message)


def target_event(target: SimulcastTarget, type: EventType) -> None:
    event_emit(environment_id=target.stream.environment_id, type=type,
               object_type="simulcast_target", object_id=target.id,
               data={**simulcast_target_data(target), "live_stream_id": target.stream_id})

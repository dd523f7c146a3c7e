"""Simulcast targets: restream destinations, and their states as their relays report.

A target is `idle` until a relay for it starts with a publish session (`starting`),
then `broadcasting`, or `errored` with FFmpeg's last lines; `idle` again when the relay
stops. Every transition of a target is made here.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from foundation.context import Actor
from foundation.errors import ValidationFailed
from foundation.statemachine import transition

from .. import audit_actions, dashboard, events
from ..models import LiveStream, SimulcastTarget
from .records import stream_audit, stream_event, target_event
from .streams import locked_stream

TargetStatus = SimulcastTarget.Status
_TARGET_EVENTS = {TargetStatus.STARTING: events.SIMULCAST_TARGET_STARTING,
                  TargetStatus.BROADCASTING: events.SIMULCAST_TARGET_BROADCASTING,
                  TargetStatus.ERRORED: events.SIMULCAST_TARGET_ERRORED,
                  TargetStatus.IDLE: events.SIMULCAST_TARGET_IDLE}


def check_simulcast_url(url: str) -> None:
    """Refuse a target on a loopback, private or link-local address (unless allowed).

    This resolves the host; call it before any transaction. The ingest resolves again
    when it starts the relay.
    """
    from ..ingest.targets import TargetRefused, check_target

    try:
        check_target(url)
    except TargetRefused as exc:
        raise ValidationFailed(str(exc), code="target_refused", errors={"url": [str(exc)]}) from exc


def simulcast_target_create(*, stream: LiveStream, actor: Actor, url: str, stream_key: str = "",
                            passthrough: str = "") -> SimulcastTarget:
    """A restream destination; it starts with the next publish (or within one report,
    if the stream is live now). Call check_simulcast_url before the transaction."""
    with transaction.atomic():
        stream = locked_stream(stream)
        target = SimulcastTarget.objects.create(stream=stream, url=url, stream_key=stream_key,
                                                passthrough=passthrough)
        stream_audit(stream, actor, audit_actions.SIMULCAST_TARGET_CREATED,
                     {"simulcast_targets": [None, {"id": target.id, "url": url}]})
        stream_event(stream, events.LIVE_STREAM_UPDATED)
        dashboard.broadcast_on_commit([stream.id])
    return target


def simulcast_target_delete(*, target: SimulcastTarget, actor: Actor) -> None:
    with transaction.atomic():
        stream = target.stream
        deleted, _ = SimulcastTarget.objects.filter(pk=target.pk).delete()
        if deleted:
            stream_audit(stream, actor, audit_actions.SIMULCAST_TARGET_DELETED,
                         {"simulcast_targets": [{"id": target.id, "url": target.url}, None]})
            stream_event(stream, events.LIVE_STREAM_UPDATED)
            dashboard.broadcast_on_commit([stream.id])


def simulcast_target_record_relay(*, target_id: str, status: str, error: str = "",
                                  speed: float | None = None,
                                  restarts: int | None = None) -> None:
    """The target follows the state its relay reports (`status`: a target status)."""
    with transaction.atomic():
        target = (SimulcastTarget.objects.select_for_update().select_related("stream")
                  .filter(pk=target_id).first())
        if target is None:
            return
        fields = {"speed": speed, "updated_at": timezone.now()}
        if status == TargetStatus.ERRORED:
            fields["error"] = error
        if restarts is not None:
            fields["restarts"] = restarts
        if target.status == status:
            SimulcastTarget.objects.filter(pk=target.pk).update(**fields)
            return
        if (status in (TargetStatus.BROADCASTING, TargetStatus.ERRORED)
                and target.status == TargetStatus.IDLE):
            # The relay got there (or failed, e.g. its target check) before a report said so.
            transition(target, SimulcastTarget.TRANSITIONS, TargetStatus.STARTING)
        if status == TargetStatus.STARTING and target.status == TargetStatus.BROADCASTING:
            return  # a restart in progress; the relay reports its outcome next
        if not SimulcastTarget.TRANSITIONS.allowed(target.status, status):
            return
        if status == TargetStatus.BROADCASTING:
            fields["error"] = ""
        transition(target, SimulcastTarget.TRANSITIONS, status, extra=fields)
        target_event(target, _TARGET_EVENTS[status])
        dashboard.broadcast_on_commit([target.stream_id])


def simulcast_targets_idle_without_encoder(stream_ids: list[str] | None = None) -> None:
    """Restream targets of streams with no encoder are idle (their relays are gone)."""
    stale = SimulcastTarget.objects.exclude(status=TargetStatus.IDLE).filter(stream__connected=False)
    if stream_ids is not None:
        stale = stale.filter(stream_id__in=stream_ids)
    for target in stale.select_related("stream"):
        simulcast_target_record_relay(target_id=target.id, status=TargetStatus.IDLE)

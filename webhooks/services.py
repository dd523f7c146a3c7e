"""The outbox, and the webhook endpoints it fans out to.

Domain services hand `event_emit` an event type and the object as the API shows it,
inside the transaction of the change. The same transaction writes one delivery per
matching endpoint; the workers send them after commit (webhooks.dispatch).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from foundation.audit import AuditAction, audit_record, diff
from foundation.context import Actor, current_request_id
from foundation.errors import Conflict, InvalidTransition
from foundation.statemachine import Transitions, fenced_transition, transition
from foundation.tasks import enqueue, enqueue_on_commit

from . import audit_actions, catalogue, events
from .api.serializers import WebhookEndpointSerializer
from .catalogue import EventType
from .models import DispatchWakeup, Event, WebhookDelivery, WebhookEndpoint, WebhookSecret

Status = WebhookDelivery.Status
ROTATION_OVERLAP = timedelta(hours=24)
DELIVER = "webhooks.tasks.deliver"
DRAIN = "webhooks.tasks.drain"
# A queued wake-up task that has not started after this long no longer stops commits
# from queueing another.
WAKEUP_STALE = timedelta(seconds=5)
DISPATCH = Actor.system("webhook dispatch")
# An endpoint's `enabled` as a state machine: the platform disables it when it gives up
# on the receiver, a person enables it again (endpoint_update).
ENDPOINT_STATES = Transitions("webhook endpoint", {True: [False], False: [True]})


def deliver_on_commit(delivery_ids: list[str]) -> None:
    # Deliveries leave their own rows (attempts); django-q2's result rows would only
    # slow every delivery down.
    for delivery_id in delivery_ids:
        enqueue_on_commit(DELIVER, delivery_id, keep_result=False)


def wake_dispatch() -> bool:
    """Queue a task that sends every due delivery, unless one is queued and not started.

    Runs after the commit that wrote the deliveries (outside any transaction). Returns
    whether it queued one.
    """
    now = timezone.now()
    if DispatchWakeup.objects.filter(pk=1, queued_at__gte=now - WAKEUP_STALE).exists():
        return False  # a task is waiting to start; it clears the row, then claims ours
    idle = Q(queued_at__isnull=True) | Q(queued_at__lt=now - WAKEUP_STALE)
    for _ in range(2):
        if DispatchWakeup.objects.filter(idle, pk=1).update(queued_at=now) == 1:
            break
        if DispatchWakeup.objects.filter(pk=1).exists():
            return False  # the waiting task clears the row after this, then claims ours
        try:
            with transaction.atomic():
                DispatchWakeup.objects.create(pk=1, queued_at=now)
            break
        except IntegrityError:
            continue  # created meanwhile: try the compare-and-swap again
    else:
        return False
    enqueue(DRAIN, keep_result=False)
    return True


def wake_dispatch_on_commit() -> None:
    transaction.on_commit(wake_dispatch)


def retry_waits() -> list[float]:
    """The waits before attempt 1, 2, 3, ... (settings.WEBHOOK_RETRY_SCHEDULE)."""
    return [float(s) for s in str(settings.WEBHOOK_RETRY_SCHEDULE).split(",") if s.strip()]


# --- the outbox ---------------------------------------------------------------------
def event_emit(*, environment_id: str, type: EventType | str, object_type: str, object_id: str,
               data: dict[str, Any]) -> Event:
    """Write the event and its deliveries. `type` must be declared in the catalogue."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change it reports")
    declared = catalogue.get(type)
    if declared.object_type != object_type:
        raise ValueError(f"{declared.name} carries a {declared.object_type}, not a {object_type}")
    for _ in range(5):
        last = Event.objects.filter(object_id=object_id).aggregate(m=Max("sequence"))["m"] or 0
        try:
            # A concurrent change of the same object may take this number first: the
            # unique constraint refuses the second, which counts again.
            with transaction.atomic():
                event = Event.objects.create(
                    environment_id=environment_id, type=declared.name, object_type=object_type,
                    object_id=object_id, sequence=last + 1, data=data,
                    request_id=current_request_id() or "")
            break
        except IntegrityError:
            continue
    else:
        raise RuntimeError(f"could not number an event of {object_id}: too many concurrent changes")
    _fan_out(event)
    return event


def _fan_out(event: Event) -> None:
    endpoints = [e for e in WebhookEndpoint.objects.filter(environment_id=event.environment_id,
                                                          enabled=True)
                 if e.wants(event.type)]
    if not endpoints:
        return
    first = retry_waits()[0]
    due = timezone.now() + timedelta(seconds=first)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=e, event=event, next_attempt_at=due) for e in endpoints)
    if first <= 0 and deliveries:
        wake_dispatch_on_commit()
    # Otherwise webhooks.tasks.deliver_due picks them up when they are due.


# --- endpoints ----------------------------------------------------------------------
def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def active_secrets(endpoint: WebhookEndpoint, now=None) -> list[str]:
    now = now or timezone.now()
    return [s.secret for s in endpoint.secrets.all()
            if s.expires_at is None or s.expires_at > now]


def _fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "events": endpoint.events, "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason}


def _audit(endpoint: WebhookEndpoint, actor: Actor, action: AuditAction, changes: dict,
           message: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="webhook_endpoint",
                 object_id=endpoint.id, environment_id=endpoint.environment_id,
                 changes=changes, message=message)


def endpoint_create(*, environment_id: str, url: str, events: list[str],
                    actor: Actor) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (shown to the caller once)."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(environment_id=environment_id, url=url,
                                                  events=events)
        secret = new_secret()
        WebhookSecret.objects.create(endpoint=endpoint, secret=secret)
        _audit(endpoint, actor, audit_actions.WEBHOOK_ENDPOINT_CREATED,
               diff({}, _fields(endpoint)))
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, actor: Actor, **fields) -> WebhookEndpoint:
    editable = {"url", "events", "enabled"}
    unknown = set(fields) - editable
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _fields(endpoint)
        for key, value in fields.items():
            setattr(endpoint, key, value)
        if fields.get("enabled"):
            # Enabled again by hand: the failure history starts over.
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
        endpoint.save()
        changes = diff(before, _fields(endpoint))
        if changes:
            _audit(endpoint, actor, audit_actions.WEBHOOK_ENDPOINT_UPDATED, changes)
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    with transaction.atomic():
        _audit(endpoint, actor, audit_actions.WEBHOOK_ENDPOINT_DELETED,
               diff(_fields(endpoint), {}))
        endpoint.delete()


def endpoint_auto_disable(*, endpoint: WebhookEndpoint, reason: str,
                          failing_since_before: datetime | None = None) -> bool:
    """The platform gives up on an endpoint's receiver (it answered 410 Gone, or failed
    for days): the endpoint is disabled with the reason, audited as the platform's act
    and announced as webhook_endpoint.disabled to the environment's other endpoints.

    With `failing_since_before`, only if its run of failures started before then (a
    success since clears it). False, changing nothing, when the endpoint is disabled
    already or recovered meanwhile.
    """
    fence = {} if failing_since_before is None else {"failing_since__lte": failing_since_before}
    with transaction.atomic():
        if not fenced_transition(endpoint, ENDPOINT_STATES, True, False, field="enabled",
                                 fence=fence, extra={"disabled_reason": reason}):
            return False
        endpoint.refresh_from_db()
        _audit(endpoint, DISPATCH, audit_actions.WEBHOOK_ENDPOINT_DISABLED,
               {"enabled": [True, False]}, message=reason)
        event_emit(environment_id=endpoint.environment_id, type=events.WEBHOOK_ENDPOINT_DISABLED,
                   object_type="webhook_endpoint", object_id=endpoint.id,
                   data=WebhookEndpointSerializer(endpoint).data)
    return True


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor: Actor,
                           overlap: timedelta = ROTATION_OVERLAP) -> tuple[str, datetime]:
    """A new secret; the current ones keep signing for `overlap`, then expire."""
    now = timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        ends = now + overlap
        endpoint.secrets.filter(expires_at__isnull=True).update(expires_at=ends)
        endpoint.secrets.filter(expires_at__gt=ends).update(expires_at=ends)
        secret = new_secret()
        WebhookSecret.objects.create(endpoint=endpoint, secret=secret)
        _audit(endpoint, actor, audit_actions.WEBHOOK_ENDPOINT_SECRET_ROTATED, {},
               message=f"The previous secrets stay valid until {ends.isoformat()}.")
    return secret, ends


# --- manual retries -----------------------------------------------------------------
def delivery_retry(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send again now: a pending one at once, a dead or succeeded one once more."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before retrying its deliveries.",
                       code="endpoint_disabled")
    src = delivery.status
    if src == Status.DELIVERING:
        # The table allows delivering → pending (a worker's retry), not a person's.
        raise InvalidTransition("This delivery is being sent right now.")
    now = timezone.now()
    send_now = {"next_attempt_at": now, "claim_token": "", "claim_expires_at": None}
    with transaction.atomic():
        if src == Status.PENDING:
            # Waiting already: only sooner, on the same compare-and-swap of its state.
            if WebhookDelivery.objects.filter(pk=delivery.pk, status=src).update(
                    **send_now, updated_at=now) != 1:
                raise InvalidTransition("The delivery changed meanwhile; try again.")
        else:
            transition(delivery, WebhookDelivery.TRANSITIONS, Status.PENDING, extra=send_now)
        audit_record(actor=actor, action=audit_actions.WEBHOOK_DELIVERY_RETRIED,
                     object_type="webhook_delivery", object_id=delivery.id,
                     environment_id=endpoint.environment_id, changes={"status": [src, Status.PENDING]})
        deliver_on_commit([delivery.id])
    delivery.refresh_from_db()
    return delivery


def endpoint_replay_dead(*, endpoint: WebhookEndpoint, actor: Actor) -> list[str]:
    """Queue every dead delivery of the endpoint again; returns their ids."""
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before replaying its deliveries.",
                       code="endpoint_disabled")
    now = timezone.now()
    WebhookDelivery.TRANSITIONS.check(Status.DEAD, Status.PENDING)
    with transaction.atomic():
        ids = list(WebhookDelivery.objects.select_for_update()
                   .filter(endpoint=endpoint, status=Status.DEAD).values_list("id", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids, status=Status.DEAD).update(
            status=Status.PENDING, next_attempt_at=now, claim_token="", claim_expires_at=None,
            updated_at=now)
        if ids:
            _audit(endpoint, actor, audit_actions.WEBHOOK_ENDPOINT_REPLAYED_DEAD, {},
                   message=f"{len(ids)} dead deliveries queued again.")
        deliver_on_commit(ids)
    return ids

"""Sending deliveries: claim, POST, record, schedule the next attempt.

A worker claims a delivery with a compare-and-swap UPDATE that sets a fresh claim
token; every later write is conditioned on that token, so a worker that lost its
claim (it stalled past claim_expires_at and another took over) changes nothing.
The HTTP request runs outside any transaction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from foundation import outbound
from foundation.tasks import enqueue

from .api.serializers import EventSerializer
from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import DELIVER, active_secrets, deliver_on_commit, retry_waits

log = logging.getLogger("kino.webhooks")

Status = WebhookDelivery.Status
EXCERPT_BYTES = 1024
DISABLE_AFTER = timedelta(days=5)
MAX_RETRY_AFTER = timedelta(days=1)
PRIVATE_NETWORKS = outbound.parse_networks([
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
    "100.64.0.0/10",
])


def allowed_networks() -> tuple[outbound.IPNetwork, ...]:
    return PRIVATE_NETWORKS if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS else ()


def check_url(url: str) -> None:
    """Raises outbound.OutboundRefused / OutboundUnavailable (resolves the host: no
    transaction may be open)."""
    outbound.check_url(url, allowed_networks=allowed_networks())


def claim_seconds() -> float:
    # Longer than a request normally takes (connecting, then waiting for the answer), so
    # a live worker keeps its claim. A receiver slower than that may get the event twice.
    return settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 5


# --- claiming -----------------------------------------------------------------------
def _due(now: datetime) -> Q:
    return (Q(status=Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Status.DELIVERING, claim_expires_at__lt=now))


def claim(delivery_id: str) -> WebhookDelivery | None:
    """Take a due delivery for this worker; None if another has it or it is not due."""
    now = timezone.now()
    token = secrets.token_hex(16)
    changed = WebhookDelivery.objects.filter(_due(now), pk=delivery_id).update(
        status=Status.DELIVERING, claim_token=token,
        claim_expires_at=now + timedelta(seconds=claim_seconds()),
        attempts=F("attempts") + 1, updated_at=now)
    if changed != 1:
        return None
    return (WebhookDelivery.objects.select_related("endpoint", "event", "event__environment")
            .get(pk=delivery_id, claim_token=token))


def _fenced(delivery: WebhookDelivery):
    return WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.DELIVERING,
                                          claim_token=delivery.claim_token)


# --- the request --------------------------------------------------------------------
def event_document(event: Event) -> dict:
    return {**EventSerializer(event).data, "sequence": event.sequence}


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str
    retry_after: float | None = None


def _retry_after(headers) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def send(delivery: WebhookDelivery, signing_secrets: list[str]) -> Outcome:
    event = delivery.event
    body = json.dumps(event_document(event), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, event.id, timestamp, body) for s in signing_secrets),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    started = time.monotonic()

    def ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with outbound.open_url(delivery.endpoint.url, method="POST", headers=headers, body=body,
                               connect_timeout=min(5, timeout), read_timeout=timeout,
                               allowed_networks=allowed_networks(), max_redirects=0) as response:
            excerpt = response.read(EXCERPT_BYTES)
            status = response.status
            if 200 <= status < 300:
                return Outcome(True, status, ms(), _text(excerpt), "")
            return Outcome(False, status, ms(), _text(excerpt),
                           f"Answered {status}; only a 2xx counts as delivered.")
    except outbound.OutboundHTTPError as exc:
        return Outcome(False, exc.status, ms(), _text(exc.excerpt), exc.message,
                       _retry_after(exc.headers))
    except outbound.OutboundTooManyRedirects:
        return Outcome(False, None, ms(), "",
                       "Answered with a redirect; webhook redirects are not followed.")
    except outbound.OutboundError as exc:
        return Outcome(False, None, ms(), "", exc.message)


def _text(data: bytes) -> str:
    return data[:EXCERPT_BYTES].decode("utf-8", errors="replace")


# --- results ------------------------------------------------------------------------
def next_wait(attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `attempts` attempts; None when exhausted."""
    waits = retry_waits()
    if attempts >= len(waits):
        return None
    wait = waits[attempts] * random.uniform(0.9, 1.1)
    if retry_after is not None and retry_after > wait:
        wait = min(retry_after, MAX_RETRY_AFTER.total_seconds())
    return wait


def record(delivery: WebhookDelivery, outcome: Outcome, started_at: datetime) -> str | None:
    """Write the attempt and the delivery's new state; None if the claim was lost."""
    now = timezone.now()
    endpoint = delivery.endpoint
    common = {"claim_token": "", "claim_expires_at": None,
              "last_status_code": outcome.status_code, "updated_at": now}
    wait = None
    if outcome.ok:
        dst, updates = Status.SUCCEEDED, {"next_attempt_at": None}
    elif outcome.status_code == 410:
        dst, updates = Status.DEAD, {"next_attempt_at": None}
    else:
        wait = next_wait(delivery.attempts, outcome.retry_after)
        if wait is None:
            dst, updates = Status.DEAD, {"next_attempt_at": None}
        else:
            dst, updates = Status.PENDING, {"next_attempt_at": now + timedelta(seconds=wait)}
    WebhookDelivery.TRANSITIONS.check(Status.DELIVERING, dst)
    with transaction.atomic():
        if _fenced(delivery).update(status=dst, **updates, **common) != 1:
            log.info("lost the claim on %s; result of attempt %s dropped", delivery.id,
                     delivery.attempts)
            return None
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=started_at, status_code=outcome.status_code,
            latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt,
            error=outcome.error[:500])
        if outcome.ok:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None)
        elif outcome.status_code == 410:
            _disable(endpoint, "The endpoint answered 410 Gone.")
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now)
            WebhookEndpoint.objects.filter(
                pk=endpoint.pk, enabled=True, failing_since__lte=now - DISABLE_AFTER
            ).update(enabled=False, disabled_reason=(
                f"Deliveries failed for {DISABLE_AFTER.days} days in a row; fix the receiver, "
                "enable the endpoint and replay its dead deliveries."))
        if wait is not None and wait <= 0:
            deliver_on_commit([delivery.id])
    return dst


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason)


def _give_up(delivery: WebhookDelivery, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if _fenced(delivery).update(status=Status.DEAD, claim_token="", claim_expires_at=None,
                                    next_attempt_at=None, updated_at=now) == 1:
            WebhookAttempt.objects.create(delivery=delivery, started_at=now, error=error)


# --- entry points -------------------------------------------------------------------
def deliver(delivery_id: str) -> str | None:
    """One attempt of one delivery. Returns its new status, or None if not claimed."""
    delivery = claim(delivery_id)
    if delivery is None:
        return None
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    delivery.endpoint = endpoint
    if not endpoint.enabled:
        _give_up(delivery, f"The endpoint is disabled: {endpoint.disabled_reason or 'by hand'}.")
        return Status.DEAD
    signing = active_secrets(endpoint)
    started_at = timezone.now()
    outcome = send(delivery, signing)
    result = record(delivery, outcome, started_at)
    log.info("delivery %s attempt %s: %s (%s)", delivery.id, delivery.attempts,
             result, outcome.status_code or outcome.error)
    return result


def deliver_due(limit: int = 1000) -> int:
    """Queue the deliveries that are due, and those whose worker was lost."""
    ids = list(WebhookDelivery.objects.filter(_due(timezone.now()))
               .order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    for delivery_id in ids:
        # Claiming is a compare-and-swap: a delivery queued twice is sent once.
        enqueue(DELIVER, delivery_id)
    return len(ids)

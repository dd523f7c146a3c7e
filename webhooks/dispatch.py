"""Sending deliveries: claim, POST, record, schedule the next attempt.

A worker claims a delivery with a compare-and-swap UPDATE that sets a fresh claim
token; every later write is conditioned on that token, so a worker that lost its
claim (it stalled past claim_expires_at and another took over) changes nothing.
The HTTP request runs outside any transaction.

A commit that writes deliveries wakes the dispatch (services.wake_dispatch): one task
is queued unless one is already waiting to start. A task sends what it was queued for,
then keeps claiming whatever else is due (oldest first, the same compare-and-swap) for
a few seconds, so a burst is sent by the workers already running, not by one queued
task per delivery.
A retry due within WEBHOOK_PROMPT_RETRY_SECONDS gets a task that waits for it; later
ones are queued by the every-minute deliver_due schedule. A URL the outbound guard
refuses (its name now resolves to a private address) is dead-lettered at once: no
amount of waiting changes that, and a retry or replay tries again once it is fixed.
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
from foundation.context import log_scope
from foundation.statemachine import fenced_transition
from foundation.tasks import enqueue, enqueue_on_commit

from .api.serializers import EventSerializer
from .metrics import count_attempt_on_commit
from .models import (
    DispatchWakeup,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from .services import (
    DELIVER,
    DRAIN,
    active_secrets,
    deliver_on_commit,
    endpoint_auto_disable,
    retry_waits,
)

log = logging.getLogger("kino.webhooks")

Status = WebhookDelivery.Status
EXCERPT_BYTES = 1024
DISABLE_AFTER = timedelta(days=5)
MAX_RETRY_AFTER = timedelta(days=1)
DELIVER_WHEN_DUE = "webhooks.tasks.deliver_when_due"
# How long one task keeps taking further due deliveries: long enough to carry a burst,
# short enough that processing jobs sharing the workers are not kept waiting.
DRAIN_SECONDS = 10.0
DRAIN_LIMIT = 1000


def allowed_networks() -> tuple[outbound.IPNetwork, ...]:
    return outbound.PRIVATE_NETWORKS if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS else ()


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


def _take(delivery_id: str, now: datetime) -> str | None:
    """The compare-and-swap: a fresh claim token on a due delivery, or None."""
    token = secrets.token_hex(16)
    changed = WebhookDelivery.objects.filter(_due(now), pk=delivery_id).update(
        status=Status.DELIVERING, claim_token=token,
        claim_expires_at=now + timedelta(seconds=claim_seconds()),
        attempts=F("attempts") + 1, updated_at=now)
    return token if changed == 1 else None


def _with_related():
    return WebhookDelivery.objects.select_related("endpoint", "event", "event__environment")


def claim(delivery_id: str) -> WebhookDelivery | None:
    """Take a due delivery for this worker; None if another has it or it is not due."""
    token = _take(delivery_id, timezone.now())
    return _with_related().get(pk=delivery_id, claim_token=token) if token else None


def claim_next() -> WebhookDelivery | None:
    """Take the pending delivery that has been due longest; None when nothing is due.

    Rows another worker is claiming are skipped (SKIP LOCKED on PostgreSQL; SQLite runs
    one writer at a time), and the claim itself is the same compare-and-swap as claim().
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (_with_related().select_for_update(skip_locked=True, of=("self",))
                    .filter(status=Status.PENDING, next_attempt_at__lte=now)
                    .order_by("next_attempt_at").first())
        token = _take(delivery.pk, now) if delivery is not None else None
    if token is None:
        return None
    # What the UPDATE wrote, on the row it locked.
    delivery.status, delivery.claim_token = Status.DELIVERING, token
    delivery.attempts += 1
    return delivery


def _claim(delivery: WebhookDelivery) -> dict:
    """What a worker's claim holds: every write it makes is conditioned on it (and on
    the delivery still being sent)."""
    return {"claim_token": delivery.claim_token}


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
    # No later attempt can succeed as things stand (the guard refused the address):
    # dead-lettered at once instead of retried for days. A retry or replay tries again.
    permanent: bool = False


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
    except outbound.OutboundRefused as exc:
        what = "Address refused" if exc.reason == "address" else "URL refused"
        return Outcome(False, None, ms(), "",
                       f"{what}: {exc.message[:1].lower()}{exc.message[1:]} Not retried.",
                       permanent=True)
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
    elif outcome.status_code == 410 or outcome.permanent:
        dst, updates = Status.DEAD, {"next_attempt_at": None}
    else:
        wait = next_wait(delivery.attempts, outcome.retry_after)
        if wait is None:
            dst, updates = Status.DEAD, {"next_attempt_at": None}
        else:
            dst, updates = Status.PENDING, {"next_attempt_at": now + timedelta(seconds=wait)}
    with transaction.atomic():
        if not fenced_transition(delivery, WebhookDelivery.TRANSITIONS, Status.DELIVERING, dst,
                                 fence=_claim(delivery), extra={**updates, **common}):
            log.info("lost the claim on %s; result of attempt %s dropped", delivery.id,
                     delivery.attempts)
            return None
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=started_at, status_code=outcome.status_code,
            latency_ms=outcome.latency_ms, response_excerpt=outcome.excerpt,
            error=outcome.error[:500])
        if outcome.ok:
            if endpoint.failing_since is not None:
                # Read with the claim: a failure recorded since then is cleared by the
                # next success instead of this one.
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        elif outcome.status_code == 410:
            endpoint_auto_disable(endpoint=endpoint, reason="The endpoint answered 410 Gone.")
        else:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now)
            endpoint_auto_disable(
                endpoint=endpoint, failing_since_before=now - DISABLE_AFTER, reason=(
                    f"Deliveries failed for {DISABLE_AFTER.days} days in a row; fix the "
                    "receiver, enable the endpoint and replay its dead deliveries."))
        count_attempt_on_commit(ok=outcome.ok, latency_ms=outcome.latency_ms, dst=dst)
        if wait is not None and wait <= 0:
            deliver_on_commit([delivery.id])
        elif wait is not None and wait <= settings.WEBHOOK_PROMPT_RETRY_SECONDS:
            enqueue_on_commit(DELIVER_WHEN_DUE, delivery.id, delivery.attempts, keep_result=False)
    return dst


def _give_up(delivery: WebhookDelivery, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if fenced_transition(delivery, WebhookDelivery.TRANSITIONS, Status.DELIVERING,
                             Status.DEAD, fence=_claim(delivery), extra={
                                 "claim_token": "", "claim_expires_at": None,
                                 "next_attempt_at": None, "updated_at": now}):
            WebhookAttempt.objects.create(delivery=delivery, started_at=now, error=error)
            count_attempt_on_commit(ok=False, latency_ms=None, dst=Status.DEAD)


# --- entry points -------------------------------------------------------------------
class SecretsCache:
    """The endpoints' secrets for one drain, read again after `ttl` seconds.

    A secret added by a rotation signs from the next read on; the secrets it replaces
    stay valid for a day, so a receiver that knows either verifies every delivery.
    Expiry is checked at each use.
    """

    def __init__(self, ttl: float = 1.0):
        self.ttl = ttl
        self._read: dict[str, tuple[float, list[WebhookSecret]]] = {}

    def active(self, endpoint: WebhookEndpoint) -> list[str]:
        read_at, rows = self._read.get(endpoint.pk, (0.0, []))
        if time.monotonic() - read_at > self.ttl:
            rows = list(endpoint.secrets.all())
            self._read[endpoint.pk] = (time.monotonic(), rows)
        now = timezone.now()
        return [s.secret for s in rows if s.expires_at is None or s.expires_at > now]


def attempt(delivery: WebhookDelivery, secrets_cache: SecretsCache | None = None) -> str | None:
    """One attempt of a claimed delivery. Returns its new status, None if the claim was lost."""
    endpoint = delivery.endpoint  # read with the claim: as fresh as the claim itself
    if not endpoint.enabled:
        _give_up(delivery, f"The endpoint is disabled: {endpoint.disabled_reason or 'by hand'}.")
        return Status.DEAD
    signing = secrets_cache.active(endpoint) if secrets_cache else active_secrets(endpoint)
    started_at = timezone.now()
    outcome = send(delivery, signing)
    result = record(delivery, outcome, started_at)
    log.info("delivery %s attempt %s: %s (%s)", delivery.id, delivery.attempts, result,
             outcome.status_code or outcome.error, extra={"delivery_id": delivery.id})
    return result


def deliver(delivery_id: str, *, drain: bool = True) -> str | None:
    """One attempt of one delivery, then (with `drain`) the others that are due.

    Returns the delivery's new status, or None if it was not claimed here.
    """
    delivery = claim(delivery_id)
    result = attempt(delivery) if delivery is not None else None
    if drain:
        drain_due()
    return result


def drain_due(*, seconds: float = DRAIN_SECONDS, limit: int = DRAIN_LIMIT) -> int:
    """Send due deliveries, oldest first, until none is due or the budget is spent.

    Stopping early loses nothing (the every-minute schedule queues whatever is due), but
    a task to carry on is queued so that a backlog keeps moving at full speed.
    """
    deadline = time.monotonic() + seconds
    cache = SecretsCache()
    sent = 0
    while sent < limit and time.monotonic() < deadline:
        delivery = claim_next()
        if delivery is None:
            return sent
        with log_scope(request_id=delivery.event.request_id, environment=delivery.event.environment_id):
            attempt(delivery, cache)
        sent += 1
    enqueue(DRAIN, keep_result=False)  # more may be due: carry on in a new task
    return sent


def drain_woken() -> int:
    """The task wake_dispatch queues: let the next commit queue another, then send."""
    DispatchWakeup.objects.filter(pk=1).update(queued_at=None)
    return drain_due()


def deliver_when_due(delivery_id: str, attempts: int) -> str | None:
    """Wait (at most WEBHOOK_PROMPT_RETRY_SECONDS) until a retry is due, then send it.

    Returns at once when the retry is no longer waiting: sent meanwhile by another
    task, retried by hand, or the endpoint deleted.
    """
    cap = time.monotonic() + settings.WEBHOOK_PROMPT_RETRY_SECONDS
    while True:
        due = (WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING,
                                              attempts=attempts)
               .values_list("next_attempt_at", flat=True).first())
        if due is None:
            return None
        wait = (due - timezone.now()).total_seconds()
        if wait <= 0 or time.monotonic() >= cap:
            break
        time.sleep(min(wait + 0.01, max(0.0, cap - time.monotonic())))
    return deliver(delivery_id)


def deliver_due(limit: int = 1000) -> int:
    """Queue the deliveries that are due, and those whose worker was lost."""
    ids = list(WebhookDelivery.objects.filter(_due(timezone.now()))
               .order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    for delivery_id in ids:
        # Claiming is a compare-and-swap: a delivery queued twice is sent once.
        enqueue(DELIVER, delivery_id, keep_result=False)
    return len(ids)

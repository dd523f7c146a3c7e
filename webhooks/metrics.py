"""Webhook figures for GET /metrics: attempts as they are recorded, and, read at scrape
time, the backlog and the endpoints in trouble."""

from __future__ import annotations

from foundation import metrics
from foundation.metrics import gauge

from .models import WebhookDelivery, WebhookEndpoint
from .selectors import ENDPOINT_STATUS


def webhook_gauges():
    Status = WebhookDelivery.Status
    yield gauge("kino_webhook_deliveries_waiting",
                "Deliveries pending or being sent now.",
                WebhookDelivery.objects.filter(
                    status__in=[Status.PENDING, Status.DELIVERING]).count())
    yield gauge("kino_webhook_endpoints_failing",
                "Endpoints whose last delivery failed, or that were disabled for failing.",
                WebhookEndpoint.objects.filter(
                    ENDPOINT_STATUS["failing"] | ENDPOINT_STATUS["disabled"]).count())


def count_attempt_on_commit(*, ok: bool, latency_ms: int | None, dst: str) -> None:
    """An attempt recorded (latency None: given up on without sending) and where it left
    its delivery, counted once the transaction that recorded it commits."""
    def count():
        if latency_ms is not None:
            metrics.WEBHOOK_DELIVERIES.labels("succeeded" if ok else "failed").inc()
            metrics.WEBHOOK_LATENCY.observe(latency_ms / 1000)
        if dst == WebhookDelivery.Status.PENDING:
            metrics.WEBHOOK_RETRIES.inc()
        elif dst == WebhookDelivery.Status.DEAD:
            metrics.WEBHOOK_DEAD_LETTERS.inc()
    metrics.on_commit(count)

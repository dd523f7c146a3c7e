"""The outbox's own event types, declared in the catalogue like any app's."""

from __future__ import annotations

from .catalogue import register

WEBHOOK_ENDPOINT_DISABLED = register(
    "webhook_endpoint.disabled",
    "The platform disabled a webhook endpoint: it answered 410 Gone, or its deliveries "
    "failed for days; `disabled_reason` says which.",
    object_type="webhook_endpoint")

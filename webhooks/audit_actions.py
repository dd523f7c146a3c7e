"""The audit actions of the outbox: webhook endpoints and deliveries."""

from __future__ import annotations

from foundation.audit import register_action

WEBHOOK_ENDPOINT_CREATED = register_action("webhook_endpoint.created",
                                           "A webhook endpoint was created.")
WEBHOOK_ENDPOINT_UPDATED = register_action("webhook_endpoint.updated",
                                           "A webhook endpoint's url, events or enabled changed.")
WEBHOOK_ENDPOINT_DELETED = register_action("webhook_endpoint.deleted",
                                           "A webhook endpoint was deleted.")
WEBHOOK_ENDPOINT_SECRET_ROTATED = register_action("webhook_endpoint.secret_rotated",
                                                  "A webhook endpoint got a new signing secret.")
WEBHOOK_ENDPOINT_REPLAYED_DEAD = register_action("webhook_endpoint.replayed_dead",
                                                 "An endpoint's dead deliveries were queued again.")
WEBHOOK_ENDPOINT_DISABLED = register_action(
    "webhook_endpoint.disabled",
    "The platform disabled a webhook endpoint (410 Gone, or failing for days).")
WEBHOOK_DELIVERY_RETRIED = register_action("webhook_delivery.retried",
                                           "A webhook delivery was sent again by hand.")

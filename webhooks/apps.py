from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Events and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The outbox's own event types and audit actions, declared like any app's.
        from foundation import roles

        from . import audit_actions, events  # noqa: F401

        roles.grant(roles.EDITORS, "webhooks.view_event")
        roles.grant(roles.SUPPORT, *roles.view_all(self), "webhooks.retry_webhookdelivery")

        # What GET /metrics reads from the database at each scrape.
        from foundation.metrics import gauge_source

        from .metrics import webhook_gauges
        gauge_source(webhook_gauges)

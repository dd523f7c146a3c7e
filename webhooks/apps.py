from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Events and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The outbox's own audit actions, declared like any app's.
        from . import audit_actions  # noqa: F401

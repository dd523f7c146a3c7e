from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Declares live's event types and audit actions.
        from . import audit_actions, events  # noqa: F401

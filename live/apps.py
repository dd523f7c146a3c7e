from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Declares live's event types and audit actions.
        # Live streams' playback IDs play through /v/ like assets': playback asks this.
        from playback import sources

        from . import audit_actions, events  # noqa: F401
        from .delivery import LiveSource

        sources.register(LiveSource())

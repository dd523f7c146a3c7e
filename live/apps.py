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

        from foundation import roles

        roles.grant(roles.LIVE_OPERATORS, "live.view_livestream", "live.add_livestream",
                    "live.change_livestream", "live.view_livesession", "live.view_healthsample",
                    "live.view_simulcasttarget", "live.add_simulcasttarget",
                    "live.change_simulcasttarget", "live.delete_simulcasttarget")
        roles.grant(roles.SUPPORT, *roles.view_all(self))

from django.apps import AppConfig


class PlaybackConfig(AppConfig):
    name = "playback"
    verbose_name = "Playback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from foundation import roles

        from . import audit_actions  # noqa: F401  (declares playback's audit actions)

        roles.grant(roles.SUPPORT, *roles.view_all(self))

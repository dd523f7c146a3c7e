from django.apps import AppConfig


class MediaCoreConfig(AppConfig):
    name = "media_core"
    verbose_name = "Media"
    default_auto_field = "django.db.models.BigAutoField"

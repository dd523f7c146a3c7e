from django.apps import AppConfig


class MediaCoreConfig(AppConfig):
    name = "media_core"
    verbose_name = "Media"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Declares media_core's event types and audit actions.
        from . import audit_actions, documents, events  # noqa: F401

        # An asset's documents are built again after any change to what they show.
        documents.connect()

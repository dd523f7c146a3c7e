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

        from foundation import roles

        roles.grant(roles.EDITORS, "media_core.view_asset", "media_core.change_asset",
                    "media_core.publish_asset", "media_core.view_upload",
                    "media_core.view_playbackid", "media_core.add_playbackid",
                    "media_core.delete_playbackid", "media_core.view_rendition",
                    "media_core.view_processingjob", "media_core.view_texttrack",
                    "media_core.add_texttrack", "media_core.delete_texttrack")
        roles.grant(roles.SUPPORT, *roles.view_all(self), "media_core.retry_asset")
        roles.grant(roles.LIVE_OPERATORS, "media_core.view_asset", "media_core.view_playbackid")

        # What GET /metrics reads from the database at each scrape.
        from foundation.metrics import gauge_source

        from .metrics import processing_gauges
        gauge_source(processing_gauges)

        # Delivery logs name playback IDs and assets: their bytes count for the
        # environment these belong to (foundation/usage/ingest.py).
        from foundation.usage import ingest

        from .models import Asset, PlaybackID
        ingest.register_owner("pbk", PlaybackID)
        ingest.register_owner("ast", Asset)

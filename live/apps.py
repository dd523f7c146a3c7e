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
                    "live.change_simulcasttarget", "live.delete_simulcasttarget",
                    # Also what opens the system status page (config/status.py).
                    "live.view_ingestnode")
        roles.grant(roles.SUPPORT, *roles.view_all(self))

        # What GET /metrics reads from the database at each scrape.
        from foundation.metrics import gauge_source

        from .metrics import live_gauges
        gauge_source(live_gauges)
        # GET /readyz: every ingest node that has not stopped is still reporting.
        from foundation.health import register_check

        from .health import ingest_check
        register_check("ingest", ingest_check)

        # Live HLS paths name their stream: what a deleted playback ID delivered still
        # counts for the stream's environment (foundation/usage/ingest.py).
        from foundation.usage import ingest

        from .models import LiveStream
        ingest.register_owner("lvs", LiveStream)

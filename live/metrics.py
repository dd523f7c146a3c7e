"""Live figures read at scrape time (GET /metrics): streams on air."""

from __future__ import annotations

from foundation.metrics import gauge

from .models import LiveStream


def live_gauges():
    yield gauge("kino_live_streams_active", "Live streams with an encoder connected now.",
                LiveStream.objects.filter(connected=True, deleted_at=None).count())

"""Processing figures read at scrape time (GET /metrics): jobs waiting and running, and
how long the oldest has waited."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from foundation.metrics import gauge
from media_core.models import ProcessingJob
from media_core.selectors import oldest_queued_job


def processing_gauges():
    Status = ProcessingJob.Status
    active = (ProcessingJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
              .values("status").annotate(n=Count("id")))
    by_status = {row["status"]: row["n"] for row in active}
    yield gauge("kino_processing_jobs", "Processing jobs waiting or running now.",
                {(s,): by_status.get(s, 0) for s in (Status.QUEUED, Status.RUNNING)},
                ["status"])
    oldest = oldest_queued_job()  # as the system status page shows it
    yield gauge("kino_processing_oldest_queued_seconds",
                "How long the oldest queued processing job has waited (0: none waits).",
                (timezone.now() - oldest.updated_at).total_seconds() if oldest else 0.0)

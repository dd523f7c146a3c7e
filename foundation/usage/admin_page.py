"""The admin's usage page: an environment's usage per day, as charts and figures."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.http import urlencode

from foundation.admin import user_may
from foundation.models import Environment

from . import charts, selectors
from .ingest import ingest_delivery_logs
from .models import JobType, StorageKind

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30


def _label(choice) -> str:
    return choice.label.lower().replace("static renditions", "downloads")


def usage_page(request: HttpRequest) -> HttpResponse:
    if not user_may(request, "view", Environment):
        raise PermissionDenied
    environments = list(Environment.objects.order_by("name"))
    chosen = next((e for e in environments if e.id == request.GET.get("environment")),
                  environments[0] if environments else None)
    asked = request.GET.get("days", "")
    period = int(asked) if asked in map(str, PERIODS) else DEFAULT_PERIOD
    context = {**admin.site.each_context(request), "title": "Usage", "environment": chosen,
               "environments": [(e, _url(e.id, period)) for e in environments],
               "periods": [(p, _url(chosen.id if chosen else "", p)) for p in PERIODS],
               "period": period}
    if chosen is not None:
        ingest_delivery_logs()  # figures up to this moment
        end = timezone.now().astimezone(UTC).date()
        rows = selectors.usage_by_day(environment_id=chosen.id,
                                      start=end - timedelta(days=period - 1), end=end)
        context.update(_figures(rows))
    return TemplateResponse(request, "admin/usage.html", context)


def _url(environment_id: str, days: int) -> str:
    return "?" + urlencode({"environment": environment_id, "days": days})


def _figures(rows: list[dict]) -> dict:
    days = [row["date"].isoformat() for row in rows]
    delivered = [row["delivery_bytes"] for row in rows]
    processing = {t: [row["processing_seconds"][t] for row in rows] for t in JobType.values}
    stored = {k: [row["storage_bytes"][k] for row in rows] for k in StorageKind.values}
    live = [row["live_seconds"] for row in rows]
    recorded = [row["recording_seconds"] for row in rows]
    return {
        "charts": [
            charts.bar_chart(title="Delivered to viewers", days=days, text=charts.size_text,
                             series=[charts.Series("delivered", delivered)]),
            charts.bar_chart(title="Processing", days=days, text=charts.seconds_text,
                             ceiling=charts.time_ceiling,
                             series=[charts.Series(_label(t), processing[t])
                                     for t in JobType if any(processing[t])]
                             or [charts.Series("processing", [0] * len(days))]),
            charts.bar_chart(title="Stored at the end of the day", days=days,
                             text=charts.size_text,
                             series=[charts.Series(_label(k), stored[k])
                                     for k in StorageKind if any(stored[k])]
                             or [charts.Series("stored", [0] * len(days))]),
            charts.bar_chart(title="Live streaming", days=days, text=charts.seconds_text,
                             ceiling=charts.time_ceiling,
                             series=[charts.Series("live", live)]),
            charts.bar_chart(title="Recordings", days=days, text=charts.seconds_text,
                             ceiling=charts.time_ceiling,
                             series=[charts.Series("recorded", recorded)]),
        ],
        "totals": [
            ("Delivered", charts.size_text(sum(delivered))),
            ("Processing", charts.seconds_text(sum(r["processing_seconds"]["total"]
                                                   for r in rows))),
            ("Stored now", charts.size_text(rows[-1]["storage_bytes"]["total"] if rows else 0)),
            ("Live", charts.seconds_text(sum(live))),
            ("Recorded", charts.seconds_text(sum(recorded))),
            ("Orphans deleted", charts.size_text(sum(r["orphaned_bytes_deleted"] for r in rows))),
        ],
        "rows": [{"date": row["date"], "delivered": charts.size_text(row["delivery_bytes"]),
                  "processing": charts.seconds_text(row["processing_seconds"]["total"]),
                  "stored": charts.size_text(row["storage_bytes"]["total"]),
                  "live": charts.seconds_text(row["live_seconds"]),
                  "recorded": charts.seconds_text(row["recording_seconds"]),
                  "orphans": charts.size_text(row["orphaned_bytes_deleted"])}
                 for row in reversed(rows)],
    }


urlpatterns = [
    path("", admin.site.admin_view(usage_page), name="admin-usage"),
]

"""Reading usage: an environment's figures day by day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Sum

from .models import JobType, Metric, StorageKind, UsageCounter


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


def usage_by_day(*, environment_id: str, start: date, end: date) -> list[dict]:
    """One row per UTC day from `start` to `end` (both included).

    Processing, delivery, live and recording figures are what happened that day; storage
    is what was stored at the day's end (for today: now), the sum of every change the
    ledger recorded up to it.
    """
    storage = defaultdict(int, UsageCounter.objects.filter(
        environment_id=environment_id, metric=Metric.STORAGE_BYTES, day__lt=start,
    ).values("dimension").annotate(total=Sum("value")).values_list("dimension", "total"))
    by_day: dict[date, list[tuple[str, str, int]]] = defaultdict(list)
    for day, metric, dimension, value in UsageCounter.objects.filter(
            environment_id=environment_id, day__gte=start, day__lte=end,
    ).values_list("day", "metric", "dimension", "value"):
        by_day[day].append((metric, dimension, value))
    rows = []
    day = start
    while day <= end:
        processing = dict.fromkeys(JobType.values, 0)
        other = defaultdict(int)
        for metric, dimension, value in by_day.get(day, ()):
            if metric == Metric.PROCESSING_MS:
                processing[dimension] = processing.get(dimension, 0) + value
            elif metric == Metric.STORAGE_BYTES:
                storage[dimension] += value
            else:
                other[metric] += value
        stored = {kind: storage.get(kind, 0) for kind in StorageKind.values}
        stored.update((kind, size) for kind, size in storage.items() if kind not in stored)
        rows.append({
            "date": day,
            "processing_seconds": {"total": _seconds(sum(processing.values())),
                                   **{k: _seconds(v) for k, v in processing.items()}},
            "storage_bytes": {"total": sum(stored.values()), **stored},
            "delivery_bytes": other[Metric.DELIVERY_BYTES],
            "live_seconds": _seconds(other[Metric.LIVE_MS]),
            "recording_seconds": _seconds(other[Metric.RECORDING_MS]),
            "orphaned_bytes_deleted": other[Metric.ORPHANS_DELETED_BYTES],
        })
        day += timedelta(days=1)
    return rows


def stored_bytes(*, environment_id: str) -> dict[str, int]:
    """What the ledger says the environment stores now, by kind."""
    return dict(UsageCounter.objects.filter(environment_id=environment_id,
                                            metric=Metric.STORAGE_BYTES)
                .values("dimension").annotate(total=Sum("value"))
                .values_list("dimension", "total"))

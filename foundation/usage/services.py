"""Recording usage: counters added to, work counted once, the storage ledger.

Each call is its own short transaction (or joins the caller's), with no I/O in it: the
callers measure and store first, then record what they did.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Metric, StoredObject, UsageCounter, UsageRecord


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


def counter_add(*, environment_id: str, metric: str, amount: int, dimension: str = "",
                day: date | None = None) -> None:
    """Add `amount` to a day's counter: one UPDATE, or an INSERT on the counter's first
    use. Two first uses at once both end up added (the loser of the INSERT updates)."""
    if not amount:
        return
    rows = UsageCounter.objects.filter(environment_id=environment_id, day=day or _today(),
                                       metric=metric, dimension=dimension)
    if rows.update(value=F("value") + amount):
        return
    try:
        with transaction.atomic():  # a savepoint: PostgreSQL would abort the caller's transaction
            UsageCounter.objects.create(environment_id=environment_id, day=day or _today(),
                                        metric=metric, dimension=dimension, value=amount)
    except IntegrityError:
        rows.update(value=F("value") + amount)


def _first_time(key: str) -> bool:
    """Claim `key` within the caller's transaction; False if it was counted before."""
    try:
        with transaction.atomic():
            UsageRecord.objects.create(key=key[:128])
    except IntegrityError:
        return False
    return True


def record_once(*, key: str, environment_id: str, metric: str, amount: int,
                dimension: str = "", day: date | None = None) -> bool:
    """Count a piece of work under `key` (e.g. a job and its attempt) unless it was counted
    before; False then. The key and the count commit together."""
    with transaction.atomic():
        if not _first_time(key):
            return False
        counter_add(environment_id=environment_id, metric=metric, amount=amount,
                    dimension=dimension, day=day)
    return True


# Long after any retry of the work they name: the work itself is done once by then.
RECORD_KEYS_KEPT = timedelta(days=30)


def usage_records_purge() -> int:
    """Forget the keys of work counted more than RECORD_KEYS_KEPT ago."""
    deleted, _ = UsageRecord.objects.filter(
        recorded_at__lt=timezone.now() - RECORD_KEYS_KEPT).delete()
    return deleted


def processing_record(*, key: str, environment_id: str, job_type: str, seconds: float) -> bool:
    """Seconds one piece of processing took (measured by whoever ran it), once per key."""
    return record_once(key=f"processing:{key}", environment_id=environment_id,
                       metric=Metric.PROCESSING_MS, dimension=job_type,
                       amount=max(0, round(seconds * 1000)))


def recording_record(*, asset_id: str, environment_id: str, seconds: float) -> bool:
    """The length of a live run's recording, once per recording asset."""
    return record_once(key=f"recording:{asset_id}", environment_id=environment_id,
                       metric=Metric.RECORDING_MS, amount=max(0, round(seconds * 1000)))


def span_record(*, key: str, environment_id: str, metric: str, start: datetime,
                end: datetime) -> bool:
    """A stretch of time (a live session), split at UTC midnights so each day gets its own
    part; once per key."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return False
    with transaction.atomic():
        if not _first_time(key):
            return False
        at = start
        while at < end:
            midnight = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), UTC)
            until = min(end, midnight)
            counter_add(environment_id=environment_id, metric=metric, day=at.date(),
                        amount=round((until - at).total_seconds() * 1000))
            at = until
    return True


# --- the storage ledger ------------------------------------------------------------------

def storage_stored(*, environment_id: str, kind: str, name: str, size: int) -> None:
    """The platform has written `name` (a file, or a folder written as one) of `size`
    bytes. Recording it again replaces the earlier size."""
    now = timezone.now()
    with transaction.atomic():
        old = StoredObject.objects.select_for_update().filter(name=name).first()
        if old is not None:
            counter_add(environment_id=old.environment_id, metric=Metric.STORAGE_BYTES,
                        dimension=old.kind, amount=-old.bytes)
            StoredObject.objects.filter(pk=old.pk).update(
                environment_id=environment_id, kind=kind, bytes=size, stored_at=now)
        else:
            try:
                with transaction.atomic():
                    StoredObject.objects.create(name=name, environment_id=environment_id,
                                                kind=kind, bytes=size, stored_at=now)
            except IntegrityError:  # recorded at this very moment by another process
                return storage_stored(environment_id=environment_id, kind=kind, name=name,
                                      size=size)
        counter_add(environment_id=environment_id, metric=Metric.STORAGE_BYTES, dimension=kind,
                    amount=size)


def storage_forget(*, prefix: str = "", names: tuple[str, ...] | list[str] = ()) -> int:
    """The platform has deleted these files, or everything under `prefix`; returns the bytes
    they held. Whatever the ledger does not know is ignored."""
    match = Q(name__in=list(names)) if names else Q(pk__in=[])
    if prefix:
        match |= Q(name=prefix) | Q(name__startswith=prefix.rstrip("/") + "/")
    with transaction.atomic():
        # Locked: two deletions of one folder at once take its bytes off once.
        rows = list(StoredObject.objects.select_for_update().filter(match)
                    .values_list("pk", "environment_id", "kind", "bytes"))
        if not rows:
            return 0
        StoredObject.objects.filter(pk__in=[pk for pk, *_ in rows]).delete()
        removed: dict[tuple[str, str], int] = defaultdict(int)
        for _, environment_id, kind, size in rows:
            removed[environment_id, kind] += size
        for (environment_id, kind), size in removed.items():
            counter_add(environment_id=environment_id, metric=Metric.STORAGE_BYTES,
                        dimension=kind, amount=-size)
    return sum(removed.values())

"""Worker entry point of usage metering (django-q2 schedule, every minute)."""

from __future__ import annotations

from .ingest import ingest_delivery_logs
from .services import usage_records_purge


def ingest_delivery() -> dict[str, int]:
    """Count the delivery log lines written since the last run (and forget the keys of
    work counted long ago)."""
    usage_records_purge()
    return ingest_delivery_logs()

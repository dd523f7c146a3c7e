"""List what media storage holds that no row owns (orphans) and what rows point at but
storage lacks (missing), with sizes; --delete removes the orphans older than the grace
period, as the daily schedule does (media_core/storage_audit.py)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from media_core.storage_audit import ORPHAN_GRACE, storage_audit, storage_orphans_delete


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


class Command(BaseCommand):
    help = "Compare media storage with the database: orphaned objects and missing ones."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true",
                            help="delete the orphans older than --older-than hours")
        parser.add_argument("--older-than", type=float,
                            default=ORPHAN_GRACE.total_seconds() / 3600,
                            help="grace period in hours before an orphan is deleted (24)")

    def handle(self, *args, delete: bool, older_than: float, **options):
        audit = storage_audit()
        now = timezone.now()
        out = self.stdout
        out.write(f"{audit.objects} objects, {_size(audit.bytes)} in media storage.")
        out.write(f"Orphans (no row owns them): {len(audit.orphans)}, "
                  f"{_size(audit.orphan_bytes)}")
        for obj in sorted(audit.orphans, key=lambda o: o.name):
            age = now - obj.modified
            out.write(f"  {obj.name}  {_size(obj.size)}  written {age.days} d "
                      f"{age.seconds // 3600} h ago")
        out.write(f"Missing (a row points at them): {len(audit.missing)}")
        for row, name in audit.missing:
            out.write(f"  {name}  ({row})")
        if delete:
            deleted, size = storage_orphans_delete(older_than=timedelta(hours=older_than))
            out.write(f"Deleted {deleted} orphans older than {older_than:g} h, {_size(size)}.")

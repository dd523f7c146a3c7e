"""Count this machine's delivery log lines (the platform's own, or nginx's with
NGINX_ACCESS_LOG) into usage. Workers do it every minute for the machine they run on; a
web or delivery machine without a worker runs this from a timer
(deploy/systemd/kino-usage-logs.timer)."""

from django.core.management.base import BaseCommand

from foundation.usage.ingest import ingest_delivery_logs


class Command(BaseCommand):
    help = "Count the delivery log lines written since the last run into usage."

    def handle(self, *args, **options):
        counted = ingest_delivery_logs()
        self.stdout.write(", ".join(f"{name}: {n} bytes counted" for name, n in counted.items())
                          or "no delivery log on this machine")

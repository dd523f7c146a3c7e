"""Run this machine's live ingest in the foreground: nginx-rtmp, SRT listeners,
simulcast relays and the health sampler (live/ingest/runner.py).

    python manage.py live_ingest [--platform-url URL] [--rtmp-port N] [--http-port N]

It talks to the platform over HTTP only (LIVE_PLATFORM_URL, LIVE_INGEST_SECRET), so
it can run on machines of its own; see deploy/README.md.
"""

from __future__ import annotations

import shutil
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from live.ingest.runner import Ingest


class Command(BaseCommand):
    help = "Run the live ingest (nginx-rtmp, SRT, simulcast relays, health) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--platform-url", default=settings.LIVE_PLATFORM_URL,
                            help="Where nginx-rtmp's callbacks and the reports go "
                                 "(default LIVE_PLATFORM_URL).")
        parser.add_argument("--rtmp-port", type=int, default=settings.RTMP_PORT)
        parser.add_argument("--http-port", type=int, default=settings.LIVE_HTTP_PORT)
        parser.add_argument("--srt-bind", default="0.0.0.0",
                            help="Address the SRT listeners bind to.")
        parser.add_argument("--node", default=settings.LIVE_NODE_NAME)

    def handle(self, *args, **options):
        nginx = settings.NGINX_BIN
        if not shutil.which(nginx):
            raise CommandError(f"{nginx} not found: install nginx and libnginx-mod-rtmp.")
        from pathlib import Path

        if not Path(settings.NGINX_RTMP_MODULE).exists():
            raise CommandError(f"{settings.NGINX_RTMP_MODULE} not found: install libnginx-mod-rtmp.")
        ingest = Ingest(platform_url=options["platform_url"], node=options["node"],
                        rtmp_port=options["rtmp_port"], http_port=options["http_port"],
                        srt_bind=options["srt_bind"])

        def stop(signum, frame):
            ingest.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            ingest.run()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc

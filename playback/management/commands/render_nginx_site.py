"""Write the front nginx config of one machine: the platform's HTTP and WebSocket servers,
static files, upload bodies and delivery behind one port.

    python manage.py render_nginx_site [--listen 80] [--upstream 127.0.0.1:8000]
        [--websocket-upstream 127.0.0.1:8001] [--server-name video.example.com]
        [--access-log FILE] [--output FILE] [--standalone [--user NAME] [--error-log FILE]]

Without --standalone the output is the http-level part (deploy/nginx/site.conf.template
with the delivery locations) to include inside `http {}`; with it, a whole configuration
to run as `nginx -c FILE -p PREFIX`, as bin/run-prod does. MEDIA_ROOT, STATIC_ROOT,
LIVE_DIR, UPLOAD_MAX_BYTES and PLAYBACK_PATH_SECRET come from settings.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from .render_nginx_delivery import (
    check_address,
    checked_path,
    delivery_values,
    fill,
    template,
    wrap,
    write,
)


def render(*, listen: str, upstream: str, websocket_upstream: str, server_name: str = "_",
           access_log: str | None = None, standalone: bool = False, user: str | None = None,
           error_log: str | None = None) -> str:
    values = delivery_values(listen=listen, upstream=upstream, server_name=server_name,
                             access_log=access_log, standalone=standalone,
                             default_log="/var/log/nginx/kino-usage.log")
    check_address("--websocket-upstream", websocket_upstream)
    text = fill(template("site.conf.template"), {
        **values, "WEBSOCKET_UPSTREAM": websocket_upstream,
        "STATIC_ROOT": checked_path("STATIC_ROOT", settings.STATIC_ROOT),
        "UPLOAD_MAX_BYTES": str(int(settings.UPLOAD_MAX_BYTES))})
    # At warn, nginx would log every upload it stores in a file, its URL (token) included.
    return wrap(text, user=user, error_log=error_log, level="error") if standalone else text


class Command(BaseCommand):
    help = ("Render deploy/nginx/site.conf.template: nginx in front of the platform's HTTP "
            "(gunicorn) and WebSocket (daphne) servers, serving static files and delivery, "
            "taking upload bodies whole, and logging in the format usage metering reads.")

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="80", help="nginx's listen address (default 80).")
        parser.add_argument("--upstream", default="127.0.0.1:8000",
                            help="the platform's HTTP server, gunicorn (default 127.0.0.1:8000); "
                                 "several web machines, comma-separated, are taken in turn.")
        parser.add_argument("--websocket-upstream", default="127.0.0.1:8001",
                            help="the platform's WebSocket server, daphne (default 127.0.0.1:8001).")
        parser.add_argument("--server-name", default="_",
                            help="server_name, e.g. video.example.com (default _).")
        parser.add_argument("--access-log",
                            help="the access log usage metering reads, NGINX_ACCESS_LOG (default "
                                 "/var/log/nginx/kino-usage.log; access.log in nginx's prefix "
                                 "with --standalone).")
        parser.add_argument("--output", "-o",
                            help="write here (mode 0600; it holds the secret) instead of stdout.")
        parser.add_argument("--standalone", action="store_true",
                            help="a whole nginx configuration for `nginx -c FILE -p PREFIX`.")
        parser.add_argument("--user",
                            help="with --standalone: the user nginx's workers run as when it "
                                 "is started by root; they must be able to read MEDIA_ROOT and "
                                 "STATIC_ROOT.")
        parser.add_argument("--error-log",
                            help="with --standalone: nginx's error log (default error.log in "
                                 "its prefix).")

    def handle(self, *args, output, standalone, user, error_log, **options):
        if (user or error_log) and not standalone:
            raise CommandError("--user and --error-log only apply with --standalone.")
        text = render(listen=options["listen"], upstream=options["upstream"],
                      websocket_upstream=options["websocket_upstream"],
                      server_name=options["server_name"], access_log=options["access_log"],
                      standalone=standalone, user=user, error_log=error_log)
        write(self, text, output)

"""Write the nginx delivery config with this platform's MEDIA_ROOT and path-token secret.

    python manage.py render_nginx_delivery --listen 127.0.0.1:8080 --upstream 127.0.0.1:8000 \
        [--server-name video.example.com] [--output FILE] [--standalone [--user NAME]]

Without --standalone the output is the http-level part (deploy/nginx/delivery.conf.template)
to include inside `http {}`; with it, a whole configuration (deploy/nginx/nginx.conf.template)
to run as `nginx -c FILE -p PREFIX`. The secret is copied from settings, never by hand.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

TEMPLATES = Path(settings.BASE_DIR) / "deploy" / "nginx"
_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")
# Characters that would end a quoted nginx string, start a variable or break a line.
_UNSAFE_IN_QUOTES = re.compile(r'["\\$\x00-\x1f\x7f]')
_ADDRESS = re.compile(r"^(unix:/[^\s;{}\"'$#]+|\[[0-9a-fA-F:.]+\]:\d{1,5}|[A-Za-z0-9.-]+:\d{1,5}|\d{1,5})$")
_NAME = re.compile(r"^[A-Za-z0-9_.*~^\\-]+( [A-Za-z0-9_.*~^\\-]+)*$")


def render(*, listen: str, upstream: str, server_name: str = "_", standalone: bool = False,
           user: str | None = None, access_log: str | None = None) -> str:
    if settings.STORAGE_BACKEND != "local":
        raise CommandError(
            f"STORAGE_BACKEND is {settings.STORAGE_BACKEND!r}: this config reads local files. "
            "For object storage, see the S3 variant in deploy/nginx/delivery.conf.template.")
    media_root = str(Path(settings.MEDIA_ROOT).resolve())
    secret = settings.PLAYBACK_PATH_SECRET
    if _UNSAFE_IN_QUOTES.search(media_root):
        raise CommandError(f"MEDIA_ROOT {media_root!r} has a character nginx cannot take here "
                           '(" \\ $ or a control character).')
    if not secret or _UNSAFE_IN_QUOTES.search(secret):
        raise CommandError('PLAYBACK_PATH_SECRET must not be empty nor contain " \\ $ or a '
                           "control character: nginx would read it differently.")
    for option, value in (("--listen", listen), ("--upstream", upstream)):
        if not _ADDRESS.match(value):
            raise CommandError(f"{option} {value!r} is not HOST:PORT, [IPv6]:PORT, PORT or unix:/path.")
    if not _NAME.match(server_name):
        raise CommandError(f"--server-name {server_name!r} is not a list of host names.")
    if access_log is not None and (not access_log or _UNSAFE_IN_QUOTES.search(access_log)
                                   or re.search(r"[\s;{}#]", access_log)):
        raise CommandError(f"--access-log {access_log!r} is not a file path nginx can take.")
    if user is not None and not re.match(r"^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$", user):
        raise CommandError(f"--user {user!r} is not a user name (optionally followed by a group).")

    text = fill((TEMPLATES / "delivery.conf.template").read_text(), {
        "LISTEN": listen, "UPSTREAM": upstream, "SERVER_NAME": server_name,
        "MEDIA_ROOT": media_root.rstrip("/") or "/", "PLAYBACK_PATH_SECRET": secret,
        "LIVE_DIR": str(settings.LIVE_DIR).rstrip("/") or "/",
        # Relative to nginx's prefix when standalone; Debian's log folder otherwise.
        "ACCESS_LOG": access_log or ("access.log" if standalone else
                                     "/var/log/nginx/kino-access.log")})
    if standalone:
        inner = "\n".join(f"    {line}" if line else "" for line in text.splitlines())
        text = fill((TEMPLATES / "nginx.conf.template").read_text(),
                    {"DELIVERY": inner, "USER": f"user {user};\n" if user else ""})
    return text


def fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{{" + name + "}}", value)
    left = _PLACEHOLDER.search(template)
    if left:
        raise CommandError(f"the template has an unknown placeholder {left.group()}")
    return template


class Command(BaseCommand):
    help = ("Render deploy/nginx/delivery.conf.template with MEDIA_ROOT and "
            "PLAYBACK_PATH_SECRET from settings: nginx serves child playlists and segments "
            "after checking their path tokens, and proxies everything else to the platform.")

    def add_arguments(self, parser):
        parser.add_argument("--listen", default="127.0.0.1:8080",
                            help="nginx's listen address (default 127.0.0.1:8080).")
        parser.add_argument("--upstream", default="127.0.0.1:8000",
                            help="the platform's HTTP address (default 127.0.0.1:8000).")
        parser.add_argument("--server-name", default="_",
                            help="server_name, e.g. video.example.com (default _).")
        parser.add_argument("--output", "-o",
                            help="write here (mode 0600; it holds the secret) instead of stdout.")
        parser.add_argument("--standalone", action="store_true",
                            help="a whole nginx configuration for `nginx -c FILE -p PREFIX`.")
        parser.add_argument("--user",
                            help="with --standalone: the user nginx's workers run as when it "
                                 "is started by root; they must be able to read MEDIA_ROOT.")
        parser.add_argument("--access-log",
                            help="the delivery server's access log (default "
                                 "/var/log/nginx/kino-access.log; access.log in nginx's prefix "
                                 "with --standalone). Credentials in URLs are left out of it.")

    def handle(self, *args, listen, upstream, server_name, output, standalone, user, access_log,
               **options):
        if user and not standalone:
            raise CommandError("--user only applies with --standalone.")
        text = render(listen=listen, upstream=upstream, server_name=server_name,
                      standalone=standalone, user=user, access_log=access_log)
        if not output:
            self.stdout.write(text, ending="")
            return
        path = Path(output)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o600)  # also when the file existed with a wider mode
        self.stderr.write(f"Wrote {path}")

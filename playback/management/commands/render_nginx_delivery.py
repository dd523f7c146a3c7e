"""Write the nginx delivery config with this platform's media storage (MEDIA_ROOT, or the
bucket: playback/nginx_media.py) and path-token secret.

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

from playback.nginx_media import media_values

TEMPLATES = Path(settings.BASE_DIR) / "deploy" / "nginx"
_PLACEHOLDER = re.compile(r"\{\{[A-Z_]+\}\}")
# Characters that would end a quoted nginx string, start a variable or break a line.
_UNSAFE_IN_QUOTES = re.compile(r'["\\$\x00-\x1f\x7f]')
_ADDRESS = re.compile(r"^(unix:/[^\s;{}\"'$#]+|\[[0-9a-fA-F:.]+\]:\d{1,5}|[A-Za-z0-9.-]+:\d{1,5}|\d{1,5})$")
_NAME = re.compile(r"^[A-Za-z0-9_.*~^\\-]+( [A-Za-z0-9_.*~^\\-]+)*$")


def render(*, listen: str, upstream: str, server_name: str = "_", standalone: bool = False,
           user: str | None = None, access_log: str | None = None) -> str:
    values = delivery_values(listen=listen, upstream=upstream, server_name=server_name,
                             access_log=access_log, standalone=standalone,
                             default_log="/var/log/nginx/kino-access.log")
    text = fill(template("delivery.conf.template"), values)
    return wrap(text, user=user) if standalone else text


def delivery_values(*, listen: str, upstream: str, server_name: str, access_log: str | None,
                    standalone: bool, default_log: str) -> dict[str, str]:
    """The values every server with the delivery locations is filled with, checked."""
    media_root = checked_path("MEDIA_ROOT", settings.MEDIA_ROOT)
    secret = settings.PLAYBACK_PATH_SECRET
    if not secret or _UNSAFE_IN_QUOTES.search(secret):
        raise CommandError('PLAYBACK_PATH_SECRET must not be empty nor contain " \\ $ or a '
                           "control character: nginx would read it differently.")
    check_address("--listen", listen)
    servers = [address.strip() for address in upstream.split(",")]
    for address in servers:
        check_address("--upstream", address)
    if not _NAME.match(server_name):
        raise CommandError(f"--server-name {server_name!r} is not a list of host names.")
    if access_log is not None:
        check_file("--access-log", access_log)
    return {**media_values(media_root=media_root, standalone=standalone),
            # Several web machines: one `server` line each, taken in turn.
            "LISTEN": listen, "UPSTREAM": ";\n    server ".join(servers),
            "SERVER_NAME": server_name,
            "PLAYBACK_PATH_SECRET": secret,
            "LIVE_DIR": str(settings.LIVE_DIR).rstrip("/") or "/",
            # Relative to nginx's prefix when standalone; the system's log folder otherwise.
            "ACCESS_LOG": access_log or ("access.log" if standalone else default_log)}


def checked_path(name: str, value) -> str:
    path = str(Path(value).resolve())
    if _UNSAFE_IN_QUOTES.search(path):
        raise CommandError(f"{name} {path!r} has a character nginx cannot take here "
                           '(" \\ $ or a control character).')
    return path.rstrip("/") or "/"


def check_address(option: str, value: str) -> None:
    if not _ADDRESS.match(value):
        raise CommandError(f"{option} {value!r} is not HOST:PORT, [IPv6]:PORT, PORT or unix:/path.")


def check_file(option: str, value: str) -> None:
    if not value or _UNSAFE_IN_QUOTES.search(value) or re.search(r"[\s;{}#]", value):
        raise CommandError(f"{option} {value!r} is not a file path nginx can take.")


def template(name: str) -> str:
    """A server template with the delivery locations it shares written in."""
    locations = (TEMPLATES / "delivery-locations.conf.template").read_text().rstrip("\n")
    # What reading media from a bucket needs at the http level (playback/nginx_media.py).
    return "{{MEDIA_HTTP}}" + (TEMPLATES / name).read_text().replace(
        "{{DELIVERY_LOCATIONS}}", locations)


def wrap(text: str, *, user: str | None = None, error_log: str | None = None,
         level: str = "warn") -> str:
    """`text` (the http-level part) inside a whole configuration for `nginx -c -p`."""
    if user is not None and not re.match(r"^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$", user):
        raise CommandError(f"--user {user!r} is not a user name (optionally followed by a group).")
    if error_log is not None:
        check_file("--error-log", error_log)
    inner = "\n".join(f"    {line}" if line else "" for line in text.splitlines())
    return fill((TEMPLATES / "nginx.conf.template").read_text(),
                {"DELIVERY": inner, "USER": f"user {user};\n" if user else "",
                 "ERROR_LOG": f"{error_log or 'error.log'} {level}"})


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
                            help="the platform's HTTP address (default 127.0.0.1:8000); "
                                 "several, comma-separated, are taken in turn.")
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
        write(self, text, output)


def write(command: BaseCommand, text: str, output: str | None) -> None:
    """To stdout, or to `output` readable by its owner alone (the text holds the secret)."""
    if not output:
        command.stdout.write(text, ending="")
        return
    path = Path(output)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # also when the file existed with a wider mode
    command.stderr.write(f"Wrote {path}")

"""The nginx-rtmp configuration of an ingest node, generated from settings.

nginx runs with its own prefix under LIVE_DIR and never reads the system config. Two
RTMP applications take encoders: `live` (standard latency, 4 s segments) and
`live-low` (1 s segments). Both ask the platform on publish, write HLS named after the
stream id (the key travels as ?key= and is not part of the name), record every
session as FLV, and let only this machine play RTMP (the simulcast relays).
The HTTP side, on loopback, serves stats, control and the HLS files.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from live.models import LiveStream

# HLS timing of each latency mode's nginx-rtmp application (named once, on the model).
_MODE = LiveStream.LatencyMode
APPS = {LiveStream.INGEST_APPS[_MODE.STANDARD]: {"fragment": "4s", "playlist": "24s"},
        LiveStream.INGEST_APPS[_MODE.LOW]: {"fragment": "1s", "playlist": "6s"}}


@dataclass(frozen=True)
class IngestLayout:
    root: Path

    @property
    def prefix(self) -> Path:
        return self.root / "nginx"

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        return self.prefix / "nginx.pid"

    @property
    def hls(self) -> Path:
        return self.root / "hls"

    @property
    def recordings(self) -> Path:
        return self.root / "rec"

    def own_recording(self, path: str) -> Path | None:
        """The path, if it names a recording file in this node's folder (never anything
        else: the name comes over the network)."""
        if not path:
            return None
        candidate = Path(path).resolve()
        if candidate.parent != self.recordings.resolve() or candidate.suffix != ".flv":
            return None
        return candidate

    def clear_hls(self, app: str, name: str) -> bool:
        """Remove a stream's live HLS folder (its run is over); whether there was one."""
        if app not in APPS or not _STREAM_NAME.match(name):
            return False
        folder = self.hls / app / name
        if not folder.is_dir():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def playlist(self, app: str, name: str) -> Path:
        return self.hls / app / name / "index.m3u8"

    def make_dirs(self) -> None:
        for path in (self.prefix / "logs", self.prefix / "temp", self.recordings,
                     *(self.hls / app for app in APPS)):
            path.mkdir(parents=True, exist_ok=True)


_STREAM_NAME = re.compile(r"^lvs_[0-9a-z]{26}$")


def layout() -> IngestLayout:
    return IngestLayout(Path(settings.LIVE_DIR))


def callback_base(platform_url: str, node: str) -> str:
    return f"{platform_url.rstrip('/')}/live/ingest/{settings.LIVE_INGEST_SECRET}/{node}"


# The node's own viewers' server (LIVE_HLS_PORT): live segments for viewers, with the
# path tokens the platform's master playlists hand out (the same check as the delivery
# nginx's), and the media playlists (and segments, for live thumbnails) for the
# platform alone, the ingest secret in their path. Nothing else is reachable there; stats and control stay on loopback.
_VIEWERS_SERVER = r"""
    server {
        listen @PORT@;
        location ~ "^/v/(?<pbk>pbk_[0-9a-z]{26})/s/(?<exp>[0-9]{1,12})/(?<sig>[A-Za-z0-9_-]{22})/live/(?<app>live|live-low)/(?<lvs>lvs_[0-9a-z]{26})/(?<seg>[0-9]{1,9}\.ts)$" {
            secure_link $sig,$exp;
            secure_link_md5 "$exp$pbk/live/$app/$lvs @PATH_SECRET@";
            add_header Access-Control-Allow-Origin "*" always;
            if ($secure_link = "") {
                return 403;
            }
            if ($secure_link = "0") {
                return 403;
            }
            alias "@HLS@/$app/$lvs/$seg";
            add_header Cache-Control "public, max-age=60";
        }
        location ~ "^/@INGEST_SECRET@/hls/(?<app>live|live-low)/(?<lvs>lvs_[0-9a-z]{26})/(?<file>index\.m3u8|[0-9]{1,9}\.ts)$" {
            alias "@HLS@/$app/$lvs/$file";
            add_header Cache-Control no-cache;
        }
        location / {
            return 404;
        }
    }
"""


def viewers_server(where: IngestLayout, port: int) -> str:
    return (_VIEWERS_SERVER.replace("@PORT@", str(port)).replace("@HLS@", str(where.hls))
            .replace("@PATH_SECRET@", settings.PLAYBACK_PATH_SECRET)
            .replace("@INGEST_SECRET@", settings.LIVE_INGEST_SECRET))


def render(*, platform_url: str, node: str, rtmp_port: int, http_port: int,
           where: IngestLayout | None = None, http_listen: str = "127.0.0.1",
           hls_port: int = 0) -> str:
    where = where or layout()
    cb = callback_base(platform_url, node)
    temp = where.prefix / "temp"
    apps = []
    for app, hls in APPS.items():
        apps.append(f"""
        application {app} {{
            live on;
            wait_key on;
            wait_video on;
            allow publish all;
            allow play 127.0.0.1;
            deny play all;
            on_publish {cb}/on_publish;
            on_publish_done {cb}/on_publish_done;
            on_update {cb}/on_update;
            notify_update_timeout 10s;
            record all;
            record_path {where.recordings};
            record_unique on;
            record_suffix .flv;
            on_record_done {cb}/on_record_done;
            hls on;
            hls_path {where.hls / app};
            hls_nested on;
            hls_fragment {hls["fragment"]};
            hls_playlist_length {hls["playlist"]};
            hls_continuous on;
            hls_cleanup on;
        }}""")
    # Started by root, nginx would run its workers as nobody, who cannot write our
    # files: keep them as the user that runs the platform.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    tls = rtmps(where)
    return f"""# Generated by `python manage.py live_ingest`; edits are overwritten.
{user}load_module {settings.NGINX_RTMP_MODULE};
{tls.module}daemon off;
master_process on;
worker_processes 1;
pid {where.pid_file};
error_log {where.prefix / "logs" / "error.log"} warn;

events {{
    worker_connections 1024;
}}

rtmp {{
    # No $args: a publish URL's query carries the stream key.
    log_format kino '$remote_addr [$time_local] $command "$app" "$name" $bytes_received '
                    '$bytes_sent ($session_readable_time)';
    access_log {where.prefix / "logs" / "rtmp-access.log"} kino;
    server {{
        listen {rtmp_port};{tls.inner_listen}
        chunk_size 4096;
        notify_method post;
        ping 30s;
        drop_idle_publisher 30s;
{"".join(apps)}
    }}
}}

http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{
        application/vnd.apple.mpegurl m3u8;
        video/mp2t ts;
    }}
    server {{
        listen {http_listen}:{http_port};
        location = /stat {{
            rtmp_stat all;
        }}
        location /control {{
            rtmp_control all;
        }}
        location /hls/ {{
            alias {where.hls}/;
            add_header Cache-Control no-cache;
        }}
    }}
{viewers_server(where, hls_port) if hls_port else ""}}}
{tls.stream}"""


@dataclass(frozen=True)
class Rtmps:
    """The parts of nginx.conf that RTMPS adds (all empty without a certificate)."""

    module: str = ""
    inner_listen: str = ""
    stream: str = ""


def rtmps(where: IngestLayout) -> Rtmps:
    """RTMPS on RTMPS_PORT: nginx's stream module ends the TLS and passes the connection
    to nginx-rtmp on a loopback port (RTMPS_LOOPBACK_PORT), the encoder's address in
    front (PROXY protocol): nginx-rtmp sees (and the platform records) the encoder, its
    `allow play 127.0.0.1` still means this machine's relays alone, and a connection
    without that header is refused there. Not a unix socket: nginx-rtmp takes those for
    its own workers' pushes and skips the publish callback, the key check, for them."""
    if not settings.LIVE_TLS_CERT:
        return Rtmps()
    inner = f"127.0.0.1:{settings.RTMPS_LOOPBACK_PORT}"
    return Rtmps(
        module=f"load_module {settings.NGINX_STREAM_MODULE};\n",
        inner_listen=f"\n        listen {inner} proxy_protocol;",
        stream=f"""
stream {{
    server {{
        listen {settings.RTMPS_PORT} ssl;
        ssl_certificate {settings.LIVE_TLS_CERT};
        ssl_certificate_key {settings.LIVE_TLS_KEY};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_handshake_timeout 10s;
        proxy_pass {inner};
        proxy_protocol on;
    }}
}}
""")

"""Live ingest settings: the platform's side and the ingest nodes' (manage.py live_ingest).

The ingest side: nginx-rtmp on RTMP_PORT, its local HTTP port (stats, control, live HLS)
on LIVE_HTTP_PORT, its viewers' port on LIVE_HLS_PORT (when it serves its own HLS), one
SRT listener per stream on a port of SRT_PORTS; files (HLS, recordings, nginx's own)
under LIVE_DIR.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_int
from config.install_secret import derived_secret


def live_settings(*, public_base_url: str, secret_key: str, var_dir: Path) -> dict[str, object]:
    RTMP_PORT = env_int("RTMP_PORT", 1935, minimum=1)
    LIVE_HTTP_PORT = env_int("LIVE_HTTP_PORT", 8080, minimum=1)
    _srt_ports = env("SRT_PORTS", "10000-10099")
    try:
        _srt_low, _srt_high = (int(p) for p in _srt_ports.split("-", 1))
    except ValueError as exc:
        raise ImproperlyConfigured(f"SRT_PORTS must look like 10000-10099, not {_srt_ports!r}") from exc
    if not 0 < _srt_low <= _srt_high < 65536:
        raise ImproperlyConfigured(f"SRT_PORTS {_srt_ports!r} is not a range of ports")
    SRT_PORTS = range(_srt_low, _srt_high + 1)
    LIVE_DIR = Path(env("LIVE_DIR", str(var_dir / "live")))
    # The host that encoders reach (put in rtmp_url and srt_url).
    LIVE_PUBLIC_HOST = env("LIVE_PUBLIC_HOST") or (urlsplit(public_base_url).hostname or "127.0.0.1")
    # Where an ingest node calls the platform back (nginx-rtmp callbacks and its reports).
    LIVE_PLATFORM_URL = (env("LIVE_PLATFORM_URL") or public_base_url).rstrip("/")
    # Shared by the platform and every ingest node; it authenticates the callbacks.
    LIVE_INGEST_SECRET = env("LIVE_INGEST_SECRET") or derived_secret(secret_key, "live-ingest")
    LIVE_NODE_NAME = env("LIVE_NODE_NAME") or socket.gethostname()[:64]
    # An ingest node on a machine of its own serves its live HLS itself: segments to
    # viewers (checked with their path tokens, as the delivery nginx checks them) and its
    # playlists to the platform, which passes them on with the segments' URLs pointing
    # here. Off (0) where the platform's machines read LIVE_DIR themselves (one machine).
    LIVE_HLS_PORT = env_int("LIVE_HLS_PORT", 0, minimum=0)
    # How viewers (or a CDN) and the platform reach that port.
    LIVE_HLS_URL = (env("LIVE_HLS_URL") or (f"http://{LIVE_PUBLIC_HOST}:{LIVE_HLS_PORT}"
                                            if LIVE_HLS_PORT else "")).rstrip("/")
    LIVE_SAMPLE_SECONDS = float(env("LIVE_SAMPLE_SECONDS", "2"))
    # A publisher that sends nothing for this long is flagged as stalled.
    LIVE_STALL_SECONDS = float(env("LIVE_STALL_SECONDS", "4"))
    # Keep health samples this long.
    LIVE_HEALTH_RETENTION_HOURS = env_int("LIVE_HEALTH_RETENTION_HOURS", 48, minimum=1)
    # Simulcast targets may point at loopback or private addresses only when this is on.
    SIMULCAST_ALLOW_PRIVATE_TARGETS = env_bool("SIMULCAST_ALLOW_PRIVATE_TARGETS", False)
    NGINX_BIN = env("NGINX_BIN", "/usr/sbin/nginx")
    NGINX_RTMP_MODULE = env("NGINX_RTMP_MODULE", "/usr/lib/nginx/modules/ngx_rtmp_module.so")
    # RTMPS: RTMP in TLS for encoders on networks they do not trust, on RTMPS_PORT beside
    # RTMP_PORT, when a certificate and its key are given (PEM files an ingest node reads;
    # the platform only needs to know they are set, to hand out rtmps_url). nginx's
    # stream module ends the TLS and hands the connection to nginx-rtmp.
    LIVE_TLS_CERT = env("LIVE_TLS_CERT", "")
    LIVE_TLS_KEY = env("LIVE_TLS_KEY", "")
    if bool(LIVE_TLS_CERT) != bool(LIVE_TLS_KEY):
        raise ImproperlyConfigured("LIVE_TLS_CERT and LIVE_TLS_KEY go together: set both for "
                                   "RTMPS, or neither")
    RTMPS_PORT = env_int("RTMPS_PORT", 1936, minimum=1) if LIVE_TLS_CERT else 0
    # Where nginx-rtmp takes the connections whose TLS was ended, on loopback only.
    RTMPS_LOOPBACK_PORT = env_int("RTMPS_LOOPBACK_PORT", 1937, minimum=1)
    NGINX_STREAM_MODULE = env("NGINX_STREAM_MODULE",
                              "/usr/lib/nginx/modules/ngx_stream_module.so")
    return {name: value for name, value in locals().items() if name.isupper()}

"""Live ingest for end-to-end tests: `live_ingest` as a process beside the platform,
encoders as real FFmpeg publishers, and a second nginx-rtmp to receive restreams."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

NGINX = "/usr/sbin/nginx"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
HAVE_RTMP = os.path.exists(NGINX) and os.path.exists(RTMP_MODULE) and bool(shutil.which("ffmpeg"))


def free_port() -> int:
    """A TCP port on loopback that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_range(count: int) -> range:
    """`count` consecutive UDP ports that are free now (for SRT listeners)."""
    for _ in range(200):
        base = random.randint(20000, 60000 - count)
        try:
            socks = []
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return range(base, base + count)
    raise RuntimeError("no free UDP port range")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files (RTMPS)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "ingest.pem", folder / "ingest.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def live_env(tmp_path: Path) -> dict:
    srt = free_udp_range(4)
    cert, key = self_signed(tmp_path / "tls")
    return {
        "LIVE_TLS_CERT": str(cert),
        "LIVE_TLS_KEY": str(key),
        "RTMPS_PORT": str(free_port()),
        "RTMPS_LOOPBACK_PORT": str(free_port()),
        "RTMP_PORT": str(free_port()),
        "LIVE_HTTP_PORT": str(free_port()),
        "SRT_PORTS": f"{srt.start}-{srt.stop - 1}",
        "LIVE_DIR": str(tmp_path / "live"),
        "LIVE_SAMPLE_SECONDS": "1",
        "SIMULCAST_ALLOW_PRIVATE_TARGETS": "1",
    }


def start_ingest(platform) -> subprocess.Popen:
    proc = platform._spawn([sys.executable, "manage.py", "live_ingest", "--srt-bind", "127.0.0.1"],
                           "ingest.log")
    platform.workers.append(proc)  # stopped with the platform
    port = platform.env["LIVE_HTTP_PORT"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("live_ingest exited:\n" + platform.log("ingest.log"))
        try:
            requests.get(f"http://127.0.0.1:{port}/stat", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("live_ingest did not start:\n" + platform.log("ingest.log"))


def publish(url: str, *, seconds: float = 30, size: str = "320x180", rate: int = 30,
            gop_seconds: float = 1.0, fmt: str = "flv", realtime: bool = True) -> subprocess.Popen:
    """An encoder: test picture and tone, x264 with a fixed keyframe interval."""
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error"]
    if realtime:
        args.append("-re")
    args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
             "-pix_fmt", "yuv420p", "-g", str(int(rate * gop_seconds)),
             "-keyint_min", str(int(rate * gop_seconds)), "-sc_threshold", "0",
             "-c:a", "aac", "-b:a", "64k", "-f", fmt, url]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


def wait_for(check, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


@dataclass
class Sink:
    """A second nginx-rtmp (another service, as far as the platform knows)."""

    port: int
    http_port: int

    @property
    def server(self) -> str:
        return f"rtmp://127.0.0.1:{self.port}/sink"

    def publishing(self, name: str) -> bool:
        stat = requests.get(f"http://127.0.0.1:{self.http_port}/stat", timeout=2).text
        return f"<name>{name}</name>" in stat and "<publishing/>" in stat


@contextmanager
def rtmp_sink(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logs").mkdir(exist_ok=True)
    port, http_port = free_port(), free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}load_module {RTMP_MODULE};
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 64; }}
rtmp {{ server {{ listen 127.0.0.1:{port}; application sink {{ live on; }} }} }}
http {{
    access_log off;
    client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
    server {{ listen 127.0.0.1:{http_port}; location = /stat {{ rtmp_stat all; }} }}
}}
""")
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: _answers(http_port), timeout=10, what="the sink nginx")
        yield Sink(port=port, http_port=http_port)
    finally:
        stop(proc)


def _answers(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/stat", timeout=1)
        return True
    except requests.RequestException:
        return False

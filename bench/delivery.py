#!/usr/bin/env python
"""Delivery benchmark: segment requests/s through the nginx delivery path.

Sets up a signed asset of a generated clip on a platform run as subprocesses (migrate,
an API key, daphne and a qcluster worker on a temp VAR_DIR), gets a JWT from an issued
signing key (PyJWT), fetches the master playlist through nginx and picks one segment of
the top rendition. Then `wrk` asks for that same segment, on 127.0.0.1, from:

  * nginx, secure_link: the production config rendered by `manage.py
    render_nginx_delivery --standalone` (path token checked by nginx, file from disk);
  * nginx, bare: the same nginx, a second server block that serves the same file from a
    plain `alias` location with the same headers and no check (the baseline);
  * Django under gunicorn (WSGI, 2 sync workers), as production would run it: the
    platform's own child URL view (path token and database checked, file streamed);
  * Django under daphne (ASGI), the embedded default web server.

Prints requests/s for each and the ratios nginx secure_link / nginx bare (goal >= 0.7)
and Django / nginx bare. The same is done for the media playlist (a small file, where
the per-request cost shows most) as information.

    .venv/bin/python bench/delivery.py [--duration 10] [--threads 2] [--connections 50]
                                       [--rounds 2] [--idle-wait 60] [--keep] [--check]

Before each wrk run it waits (up to --idle-wait s) for the machine to be idle, and after
it reports how many CPUs other processes used meanwhile: the servers and wrk share the
same cores, so a busy machine makes every figure and ratio noisy.

Needs `nginx` (Debian's, with secure_link) and `wrk` (apt-get install wrk). The bench
process does not import Django: the platform runs only in its subprocesses.
"""

from __future__ import annotations

import argparse
import getpass
import os
import platform as platform_info
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt
import requests
from machine import (
    IDLE_CORES,
    Processes,
    cpu_model,
    find_tool,
    free_port,
    machine_busy,
    tree_cpu,
    venv_bin,
    wait_idle,
)

GOAL = 0.7
CLIP_SECONDS = 12
CLIP_SIZE = "1280x720"

VERBOSE = False


def say(message: str = "") -> None:
    print(message, flush=True)


def debug(message: str) -> None:
    if VERBOSE:
        print(f"  . {message}", flush=True)








def wait_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{proc.args[0]} did not start on port {port}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}") from None
            time.sleep(0.1)


def _processes(work: Path, env: dict) -> Processes:
    return Processes(work, env, log=debug, quit_with={"nginx": signal.SIGQUIT})


def make_clip(path: Path) -> None:
    subprocess.run(
        [os.environ.get("FFMPEG_BIN") or "ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate=30:duration={CLIP_SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={CLIP_SECONDS}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=300)


def signed_asset(base: str, api_key: str, clip: Path) -> tuple[str, str]:
    """(playback ID, JWT) for a ready asset with a signed playback ID."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    created = session.post(f"{base}/api/v1/uploads", timeout=30,
                           json={"new_asset_settings": {"playback_policy": ["signed"]}})
    if created.status_code != 201:
        raise SystemExit(f"POST /uploads: {created.status_code} {created.text}")
    with open(clip, "rb") as fh:
        put = requests.put(created.json()["url"], data=fh, timeout=300)
    if put.status_code != 200:
        raise SystemExit(f"PUT upload: {put.status_code} {put.text}")
    asset_id = put.json()["asset_id"]
    deadline = time.monotonic() + 300
    while True:
        asset = session.get(f"{base}/api/v1/assets/{asset_id}", timeout=30).json()
        if asset["status"] == "ready":
            break
        if asset["status"] == "errored" or time.monotonic() > deadline:
            raise SystemExit(f"asset {asset_id} did not become ready: {asset}")
        time.sleep(0.2)
    playback_id = asset["playback_ids"][0]["id"]
    key = session.post(f"{base}/api/v1/signing-keys", timeout=30).json()
    token = jwt.encode({"sub": playback_id, "aud": "v", "exp": int(time.time()) + 3600},
                       key["private_key"], algorithm="RS256", headers={"kid": key["id"]})
    return playback_id, token


BARE_SERVER = """
    # The baseline: the same files, no token, the same types and headers.
    server {{
        listen 127.0.0.1:{port};
        location /bare/ {{
            alias "{media_root}/";
            types {{
                application/vnd.apple.mpegurl m3u8;
                video/iso.segment             m4s;
                video/mp4                     mp4;
            }}
            add_header Access-Control-Allow-Origin "*" always;
            add_header Cache-Control $kino_child_cache_control;
        }}
    }}
"""

BUCKET_BARE_SERVER = """
    # The baseline: the same objects from the same bucket through the same cache, no
    # token, the same types and headers.
    server {{
        listen 127.0.0.1:{port};
        location ~ "^/bare/(?<key>.+)$" {{
            proxy_pass http://kino_bucket/{bucket}/$key;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "";
            proxy_cache kino_media;
            proxy_cache_key $key;
            proxy_cache_valid 200 1h;
            proxy_cache_lock on;
            proxy_hide_header Content-Type;
            proxy_hide_header Cache-Control;
            proxy_hide_header Access-Control-Allow-Origin;
            proxy_hide_header x-amz-request-id;
            proxy_hide_header x-amz-id-2;
            proxy_ignore_headers Cache-Control Expires Set-Cookie;
            add_header Content-Type $kino_media_type always;
            add_header Access-Control-Allow-Origin "*" always;
            add_header Cache-Control $kino_child_cache_control;
        }}
    }}
"""


def start_bucket(procs: Processes) -> tuple[dict, str]:
    """moto's S3 server as a process, a bucket in it, and the policy deploy/README.md
    gives: the delivery machine (here 127.0.0.1) reads the rendition folders without
    credentials. Returns the platform's environment for it and the bucket's name."""
    import json

    import boto3

    port = free_port()
    server = procs.spawn("s3", [venv_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)])
    wait_port(port, server, procs.logs["s3"])
    endpoint, bucket = f"http://127.0.0.1:{port}", "kino-bench"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                          aws_secret_access_key="bench", region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/assets/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["127.0.0.1/32"]}}}]}))
    return {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "bench",
            "S3_SECRET_ACCESS_KEY": "bench", "S3_ADDRESSING_STYLE": "path"}, bucket


@dataclass
class Target:
    name: str
    url: str


@dataclass
class WrkResult:
    rps: float
    transfer: str
    p50: str
    p99: str
    requests: int
    bad: int
    others: float = 0.0  # CPUs used by other processes on the machine meanwhile


def run_wrk(wrk: str, url: str, *, duration: int, threads: int, connections: int,
            servers: list[int]) -> WrkResult:
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url]
    debug(shlex.join(args))
    before = (machine_busy(), tree_cpu(servers), own_cpu(), time.monotonic())
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60)
    after = (machine_busy(), tree_cpu(servers), own_cpu(), time.monotonic())
    others = ((after[0] - before[0]) - (after[1] - before[1]) - (after[2] - before[2])) / (
        after[3] - before[3])
    text = out.stdout + out.stderr
    if out.returncode != 0 or "Requests/sec" not in text:
        raise SystemExit(f"wrk failed:\n{text}")

    def grab(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1) if match else default

    bad = int(grab(r"Non-2xx or 3xx responses:\s+(\d+)"))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                           grab(r"(Socket errors:.*)$", "")))
    return WrkResult(rps=float(grab(r"^Requests/sec:\s+([\d.]+)")),
                     transfer=grab(r"^Transfer/sec:\s+(\S+)", "?"),
                     p50=grab(r"^\s+50%\s+(\S+)", "?"), p99=grab(r"^\s+99%\s+(\S+)", "?"),
                     requests=int(grab(r"^\s+(\d+) requests in")), bad=bad + errors,
                     others=max(0.0, others))


# --- how busy the machine is --------------------------------------------------------




def own_cpu() -> float:
    """CPU seconds of this process and its waited-for children (wrk)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime






def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds over every target, medians reported (2)")
    parser.add_argument("--gunicorn-workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--bucket", action="store_true",
                        help="media in a bucket on an S3 server (moto's) instead of local "
                             "files: nginx proxies to it through its cache")
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="before each wrk run, wait up to this many seconds for the machine "
                             f"to use under {IDLE_CORES} CPUs (0: do not wait; default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and its logs")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if nginx secure_link / nginx bare is under {GOAL}")
    opts = parser.parse_args()
    VERBOSE = opts.verbose
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    nginx, wrk = find_tool("nginx"), find_tool("wrk")
    if not nginx or not wrk:
        raise SystemExit("needs nginx and wrk: apt-get install -y nginx wrk")

    work = Path(tempfile.mkdtemp(prefix="kino-delivery-"))
    os.chmod(work, 0o755)  # nginx's workers read MEDIA_ROOT below it
    web_port, gunicorn_port, nginx_port, bare_port = (free_port() for _ in range(4))
    media_root = work / "var" / "media"
    env = {**os.environ,
           "VAR_DIR": str(work / "var"), "MEDIA_ROOT": str(media_root),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}", "WORKERS": "1",
           "DEBUG": "false", "SECRET_KEY": secrets.token_hex(32),
           "PLAYBACK_PATH_SECRET": secrets.token_hex(16),
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    procs = _processes(work, env)
    results: dict[str, list[WrkResult]] = {}
    bucket = None
    say(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, {platform_info.platform()}")
    try:
        say("setting up: migrate, API key, daphne, qcluster, a signed asset ...")
        (work / "var").mkdir()
        if opts.bucket:
            s3_env, bucket = start_bucket(procs)
            env.update(s3_env)
        procs.manage("migrate", "--noinput")
        api_key = procs.manage("create_api_key", "--environment", "bench", "--scopes", "all").strip()
        web = procs.spawn("daphne", [venv_bin("daphne"), "-b", "127.0.0.1", "-p", str(web_port),
                                     "config.asgi:application"])
        procs.spawn("worker", [sys.executable, "manage.py", "qcluster"])
        wait_port(web_port, web, procs.logs["daphne"])
        clip = work / "clip.mp4"
        make_clip(clip)
        playback_id, token = signed_asset(f"http://127.0.0.1:{web_port}", api_key, clip)
        procs.stop("worker")  # nothing left to process; keep its CPU out of the figures

        conf = work / "nginx" / "nginx.conf"
        conf.parent.mkdir()
        procs.manage("render_nginx_delivery", "--standalone", "--listen", f"127.0.0.1:{nginx_port}",
                     "--upstream", f"127.0.0.1:{web_port}", "--user", getpass.getuser(),
                     "--output", str(conf))
        text = conf.read_text()
        head, _, tail = text.rpartition("}")  # the end of the http block
        bare_server = (BUCKET_BARE_SERVER.format(port=bare_port, bucket=bucket) if bucket
                       else BARE_SERVER.format(port=bare_port, media_root=media_root.resolve()))
        conf.write_text(head + bare_server + "}" + tail)
        ngx = procs.spawn("nginx", [nginx, "-c", str(conf), "-p", f"{conf.parent}/", "-e", "error.log"])
        wait_port(nginx_port, ngx, conf.parent / "error.log")

        # The master playlist through nginx (answered by the platform), then its top
        # rendition's media playlist and first full segment (answered by nginx).
        nginx_base = f"http://127.0.0.1:{nginx_port}"
        master = requests.get(f"{nginx_base}/v/{playback_id}.m3u8?token={token}", timeout=30)
        master.raise_for_status()
        media_path = next(line for line in master.text.splitlines() if line.startswith("/v/"))
        media = requests.get(nginx_base + media_path, timeout=30)
        media.raise_for_status()
        segment_name = next(line for line in media.text.splitlines() if line.endswith(".m4s"))
        child_base, rendition = media_path.rsplit("/", 2)[:2]
        file_prefix = re.search(r"/s/\d+/[\w-]+/(assets/.+)$", child_base).group(1)

        gunicorn = procs.spawn("gunicorn", [
            venv_bin("gunicorn"), "-w", str(opts.gunicorn_workers), "-b",
            f"127.0.0.1:{gunicorn_port}", "config.wsgi:application"])
        wait_port(gunicorn_port, gunicorn, procs.logs["gunicorn"])

        def targets(child: str, bare: str) -> list[Target]:
            return [Target("nginx secure_link", f"{nginx_base}{child}"),
                    Target("nginx bare", f"http://127.0.0.1:{bare_port}/bare/{bare}"),
                    Target("django gunicorn", f"http://127.0.0.1:{gunicorn_port}{child}"),
                    Target("django daphne", f"http://127.0.0.1:{web_port}{child}")]

        files = {
            "segment": targets(f"{child_base}/{rendition}/{segment_name}",
                               f"{file_prefix}/{rendition}/{segment_name}"),
            "media playlist": targets(media_path, f"{file_prefix}/{rendition}/index.m3u8"),
        }
        sizes = {}
        for kind, group in files.items():
            bodies = []
            for target in group:
                answer = requests.get(target.url, timeout=30)
                if answer.status_code != 200:
                    raise SystemExit(f"{target.name} {target.url}: {answer.status_code} "
                                     f"{answer.text[:300]}")
                bodies.append(answer.content)
            if len(set(bodies)) != 1:
                raise SystemExit(f"the {kind} differs between targets")
            sizes[kind] = len(bodies[0])
        say(f"asset: {CLIP_SECONDS} s {CLIP_SIZE} clip, signed playback ID {playback_id}; "
            f"segment {rendition}/{segment_name} {sizes['segment'] / 1000:.1f} kB, "
            f"media playlist {sizes['media playlist']} B")
        say(f"wrk -t{opts.threads} -c{opts.connections} -d{opts.duration}s on 127.0.0.1, "
            f"{opts.rounds} round(s); nginx worker_processes auto, gunicorn "
            f"{opts.gunicorn_workers} sync workers, DEBUG off")

        servers = [p.pid for name, p in procs.procs.items() if name != "worker"]
        for round_no in range(1, opts.rounds + 1):
            for kind, group in files.items():
                for target in group:
                    if opts.idle_wait > 0:
                        busy = wait_idle(opts.idle_wait)
                        if busy is not None:
                            say(f"  (machine still busy after {opts.idle_wait:.0f} s: "
                                f"{busy:.2f} CPUs in use by other processes)")
                    result = run_wrk(wrk, target.url, duration=opts.duration,
                                     threads=opts.threads, connections=opts.connections,
                                     servers=servers)
                    results.setdefault(f"{kind}|{target.name}", []).append(result)
                    say(f"round {round_no} {kind:14} {target.name:18} {result.rps:8.0f} req/s  "
                        f"p50 {result.p50:>8} p99 {result.p99:>8}  {result.transfer:>9}/s  "
                        f"others {result.others:.2f} CPUs")
                    if result.bad:
                        say(f"  WARNING: {target.name} answered {result.bad} requests badly")
    finally:
        procs.stop_all()
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def rps(kind: str, name: str) -> float:
        return statistics.median(r.rps for r in results[f"{kind}|{name}"])

    say("")
    say(f"results (median of {opts.rounds} round(s), requests/s):")
    summary = []
    for kind in ("segment", "media playlist"):
        bare = rps(kind, "nginx bare")
        secure = rps(kind, "nginx secure_link")
        guni, daph = rps(kind, "django gunicorn"), rps(kind, "django daphne")
        say(f"  {kind}: nginx secure_link {secure:.0f}, nginx bare {bare:.0f}, "
            f"django gunicorn {guni:.0f}, django daphne {daph:.0f}")
        say(f"    ratios to nginx bare: secure_link {secure / bare:.3f}"
            + (f" (goal >= {GOAL}: {'met' if secure / bare >= GOAL else 'NOT met'})"
               if kind == "segment" else "")
            + f", django gunicorn {guni / bare:.3f}, django daphne {daph / bare:.3f}")
        summary.append((kind, secure, bare, guni, daph))
    kind, secure, bare, guni, daph = summary[0]
    met = secure / bare >= GOAL
    runs = [r for rs in results.values() for r in rs]
    disturbed = sum(1 for r in runs if r.others > 0.1 * (os.cpu_count() or 1))
    if disturbed:
        say(f"  WARNING: in {disturbed} of {len(runs)} runs other processes used over 10 % of "
            "the machine's CPU; the figures are noisy. Rerun on an idle machine.")
    say("")
    say(f"SUMMARY: {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, "
        f"media {'in a bucket (moto), nginx through its cache' if opts.bucket else 'on local disk'}, "
        f"{sizes['segment'] / 1000:.0f} kB segment, wrk -t{opts.threads} -c{opts.connections} "
        f"-d{opts.duration}s: nginx secure_link {secure:.0f} req/s, nginx bare {bare:.0f}, "
        f"ratio {secure / bare:.3f} (goal >= {GOAL}: {'met' if met else 'NOT met'}); "
        f"django gunicorn {guni:.0f} ({guni / bare:.3f} of bare), "
        f"django daphne {daph:.0f} ({daph / bare:.3f})")
    return 1 if (opts.check and not met) else 0


if __name__ == "__main__":
    sys.exit(main())

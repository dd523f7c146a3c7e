#!/usr/bin/env python
"""API read path benchmark: the API and the master playlist against a bare Django view.

One gunicorn (2 sync workers, DEBUG off, a fresh SECRET_KEY, PostgreSQL and Redis as in
production) serves, with the same settings and middleware:

  * bare: a plain Django view that returns a small dict with JsonResponse, added beside
    the platform's URLs by the bench-only settings/URLconf bench/api_site.py (the
    baseline: what Django itself costs per request on this machine);
  * asset: GET /api/v1/assets/{id} with an API key (Authorization: Bearer ...), a ready
    asset with its renditions, playback ID and tracks;
  * list: GET /api/v1/assets, a page of 25 ready assets;
  * master: GET /v/{playback id}.m3u8 of a public playback ID.

With --behind-nginx, the production profile's front nginx stands in front of gunicorn,
its config rendered as bin/run-prod renders it (manage.py render_nginx_site --standalone:
upstream keepalive, the usage access log with its maps, request and answer buffering),
and gunicorn runs with the production profile's config/gunicorn.py (threaded workers;
--worker-class sync to change only the nginx in front); wrk asks nginx, for the bare view
too, so the ratios compare like with like.

`wrk --latency` asks each for --duration s with --threads x --connections, in --rounds
alternating rounds (the order rotates each round); the medians of req/s, p50 and p99
are compared with the bare view's req/s against the goals: asset >= 0.5 x bare with p99
under 50 ms, list >= 0.25 x bare, master playlist >= 0.5 x bare.

The data: one real asset (a 4 s 1280x720 clip with sound, uploaded and processed by the
platform's own pipeline with FFmpeg), then the other assets uploaded the same way
(tests/factories.py) and finished by the processing services with the real asset's
renditions, tracks and a copy of its files, so no more FFmpeg runs are needed.

Before the load, each request is made once in-process (django.test.Client against the
same database and Redis, connections closed around it as the WSGI handler does) to count
its SQL queries, PostgreSQL connections and Redis round trips. With --profile, N more
in-process requests of each are run under cProfile: a model of where one request's time
goes (one client, no concurrency, the profiler's overhead), not a measurement.

    .venv/bin/python bench/api.py [--rounds 3] [--duration 10] [--threads 2]
        [--connections 50] [--workers 2] [--assets 25] [--profile [--profile-requests 200]]
        [--database-url postgres://postgres@127.0.0.1:5432/kino_bench_api]
        [--redis-url redis://127.0.0.1:6379/13] [--idle-wait 60] [--keep] [-v] [--check]
        [--behind-nginx] [--worker-class sync|gthread]

The database named by --database-url is created for the run (dropped first if it is
left over) and dropped at the end; the Redis database must be empty (the bench deletes
the keys it made at the end). API_RATE_LIMIT_READ is set to 1000000/second in the
server's environment so the API's read budget never answers 429 under load (its window
is still kept in Redis on every request, as in production).

Needs `wrk` (Debian: apt-get install -y wrk), ffmpeg, PostgreSQL and Redis (and nginx
with --behind-nginx). The bench
process itself does not import Django: the platform runs in subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
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
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from machine import (
    IDLE_CORES,
    ROOT,
    Processes,
    cpu_model,
    find_tool,
    free_port,
    machine_busy,
    tree_cpu,
    venv_bin,
    wait_idle,
)

SETTINGS_MODULE = "bench.api_site"
READ_RATE = "1000000/second"
CLIP_SECONDS = 4
CLIP_SIZE = "1280x720"
VERBOSE = False


def say(message: str = "") -> None:
    print(message, flush=True)


def debug(message: str) -> None:
    if VERBOSE:
        print(f"  . {message}", flush=True)


@dataclass
class Target:
    key: str
    label: str
    auth: bool = False
    goal: float | None = None  # req/s as a share of the bare view's
    p99_goal_ms: float | None = None
    path: str = ""


TARGETS = [
    Target("bare", "bare Django JSON view"),
    Target("asset", "GET /api/v1/assets/{id}", auth=True, goal=0.5, p99_goal_ms=50),
    Target("list", "GET /api/v1/assets (25)", auth=True, goal=0.25),
    Target("master", "GET /v/{pbk}.m3u8", goal=0.5),
]


# --- wrk ----------------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    others: float = 0.0  # CPUs used by other processes on the machine meanwhile
    server_ms: float = 0.0  # gunicorn's CPU time per request
    front_ms: float = 0.0  # nginx's CPU time per request (--behind-nginx)
    services_ms: float = 0.0  # PostgreSQL's and Redis's CPU time per request (shared servers)
    raw: str = field(default="", repr=False)


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]




def service_pids() -> list[int]:
    """PostgreSQL's and Redis's server processes (they serve other users too)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                name = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if name in ("postgres", "redis-server"):
                pids.append(int(entry))
    return pids


def own_cpu() -> float:
    """CPU seconds of this process and its waited-for children (wrk)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_wrk(wrk: str, url: str, headers: dict[str, str], *, duration: int, threads: int,
            connections: int, servers: list[int], front: list[int] = ()) -> WrkResult:
    args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args.append(url)
    debug(shlex.join(args).replace(headers.get("Authorization", "\0"), "Bearer <api key>"))
    services = service_pids()
    before = (machine_busy(), tree_cpu(servers), own_cpu(), time.monotonic(), tree_cpu(services),
              tree_cpu(list(front)))
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60)
    after = (machine_busy(), tree_cpu(servers), own_cpu(), time.monotonic(), tree_cpu(services),
             tree_cpu(list(front)))
    used = [b - a for a, b in zip(before, after, strict=True)]
    others = (used[0] - used[1] - used[2] - used[4] - used[5]) / used[3]
    text = out.stdout + out.stderr
    if out.returncode != 0 or "Requests/sec" not in text:
        raise SystemExit(f"wrk failed:\n{text}")

    def grab(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, text, re.MULTILINE)
        return match.group(1) if match else default

    bad = int(grab(r"Non-2xx or 3xx responses:\s+(\d+)"))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)",
                                           grab(r"(Socket errors:.*)$", "")))
    requests = int(grab(r"^\s+(\d+) requests in"))
    return WrkResult(rps=float(grab(r"^Requests/sec:\s+([\d.]+)")),
                     p50_ms=to_ms(grab(r"^\s+50%\s+(\S+)", "?")),
                     p99_ms=to_ms(grab(r"^\s+99%\s+(\S+)", "?")),
                     requests=requests, bad=bad + errors, others=max(0.0, others),
                     server_ms=used[1] * 1000 / max(1, requests),
                     front_ms=used[5] * 1000 / max(1, requests),
                     # Backends of other users that exit meanwhile can make this negative.
                     services_ms=max(0.0, used[4] * 1000 / max(1, requests)), raw=text)


def drain(servers: list[int], max_wait: float = 60) -> None:
    """Wait until gunicorn is done with requests wrk left queued when it stopped (sync
    workers answer every connection in the listen backlog, even ones wrk closed), so a
    run never starts on the previous one's leftovers."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        before = tree_cpu(servers)
        time.sleep(0.5)
        if tree_cpu(servers) - before < 0.05:
            return


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


def start_front(procs: Processes, work: Path, upstream_port: int) -> tuple[str, subprocess.Popen]:
    """The production profile's front nginx before gunicorn, rendered as bin/run-prod does
    (no daphne here: nothing asks for /ws/)."""
    prefix, port = work / "nginx", free_port()
    prefix.mkdir()
    user = ["--user", pwd.getpwuid(os.geteuid()).pw_name] if os.geteuid() == 0 else []
    procs.manage("render_nginx_site", "--standalone", *user, "--listen", f"127.0.0.1:{port}",
                 "--upstream", f"127.0.0.1:{upstream_port}",
                 "--websocket-upstream", f"127.0.0.1:{free_port()}",
                 "--access-log", str(work / "nginx-access.log"),
                 "--error-log", str(work / "nginx-error.log"), "--output", str(prefix / "nginx.conf"))
    nginx = procs.spawn("nginx", [find_tool("nginx"), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"),
                                  "-e", str(work / "nginx-error.log")])
    wait_port(port, nginx, work / "nginx-error.log")
    return f"http://127.0.0.1:{port}", nginx


# --- the machine, the code, PostgreSQL and Redis -------------------------------------


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=30).stdout.rstrip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def code_state() -> tuple[str, list[str]]:
    """HEAD, and the tracked files outside bench/ changed in the working tree (what the
    server runs is the working tree)."""
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if not line[3:].startswith("bench/")]
    return git("rev-parse", "HEAD"), changed


def diff_digest() -> str:
    """A short digest of the working tree's changes outside bench/ (which code ran)."""
    import hashlib

    diff = git("diff", "HEAD", "--", ".", ":(exclude)bench")
    return hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else ""


def database_urls(url: str) -> tuple[str, str, str]:
    """(the bench database's URL, its name, the URL of the server's postgres database)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit("--database-url must be a PostgreSQL URL (postgres://...)")
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"--database-url: {name!r} is not a plain database name")
    return url, name, urlunsplit(parts._replace(path="/postgres"))


def admin_sql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url)


def redis_cleanup(url: str, patterns: list[str]) -> int:
    client = redis_client(url)
    gone = 0
    for pattern in patterns:
        names = list(client.scan_iter(match=pattern, count=1000))
        if names:
            gone += client.delete(*names)
    return gone


def make_clip(path: Path) -> None:
    subprocess.run(
        [os.environ.get("FFMPEG_BIN") or "ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate=30:duration={CLIP_SECONDS}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={CLIP_SECONDS}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=300)


def django_step(env: dict, step: str, payload: dict, timeout: float = 900) -> dict:
    """Run one in-process step (setup, queries, profile) in a Django subprocess."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--django-step", step],
                          input=json.dumps(payload), cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the {step} step failed (exit {proc.returncode}):\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    debug(f"{step} step stderr:\n{proc.stderr[-1500:]}" if proc.stderr.strip() else f"{step} done")
    return json.loads(lines[-1][len("RESULT "):])


def fetch(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_answers(base: str, targets: list[Target], headers: dict[str, dict], assets: int) -> None:
    """Each target answers 200 with what it should, through gunicorn, before the load."""
    for target in targets:
        status, body = fetch(base + target.path, headers[target.key])
        if status != 200:
            raise SystemExit(f"{target.label} ({target.path}): {status} {body[:500]!r}")
        if target.key == "asset":
            data = json.loads(body)
            if data.get("status") != "ready":
                raise SystemExit(f"the asset is not ready: {data}")
        elif target.key == "list":
            items = json.loads(body).get("data", [])
            if len(items) != min(assets, 25) or any(a.get("status") != "ready" for a in items):
                raise SystemExit(f"the list has {len(items)} items, not {min(assets, 25)} ready ones")
        elif target.key == "master" and b"#EXT-X-STREAM-INF" not in body:
            raise SystemExit(f"not a master playlist: {body[:300]!r}")
        debug(f"{target.label}: 200, {len(body)} bytes")


# --- in-process steps (run in a subprocess with Django set up) -------------------------


def _setup_step(payload: dict) -> dict:
    """One real asset through the pipeline, the others finished with its renditions."""
    from foundation.context import Actor
    from foundation.models import SCOPES
    from foundation.tenancy import api_key_create, environment_get_or_create
    from media_core.models import Asset
    from media_core.processing import pipeline
    from media_core.services import processing
    from media_core.services.assets import asset_record_inspection
    from media_core.storage import media_storage, put_tree
    from tests.factories import complete, upload_for

    clip, count, work = Path(payload["clip"]), payload["assets"], Path(payload["work"])
    actor = Actor.system("bench")
    environment = environment_get_or_create(name="bench", actor=actor)
    _key, secret = api_key_create(environment=environment, name="bench key",
                                  scopes=list(SCOPES), actor=actor)

    def new_asset(number: int) -> Asset:
        return complete(upload_for(environment, title=f"Bench video {number}",
                                   passthrough=f"bench-{number}"), clip)

    started = time.monotonic()
    real = new_asset(1)
    pipeline.run_job(real.jobs.get().id)
    real.refresh_from_db()
    if real.status != Asset.Status.READY:
        raise SystemExit(f"the real asset did not become ready: {real.status} "
                         f"{real.error_type} {real.error_messages}")
    encoded = time.monotonic() - started
    rows = [{"name": r.name, "kind": r.kind, "width": r.width, "height": r.height,
             "frame_rate": r.frame_rate, "bitrate": r.bitrate, "peak_bitrate": r.peak_bitrate,
             "codecs": r.codecs} for r in real.renditions.all()]
    source = Path(media_storage().path(real.media_prefix))
    for number in range(2, count + 1):
        asset = new_asset(number)
        job = processing.job_claim(job_id=asset.jobs.get().id)
        asset_record_inspection(asset=asset, duration=real.duration, tracks=real.tracks,
                                aspect_ratio=real.aspect_ratio)
        copy = work / "copy"
        shutil.copytree(source, copy)
        put_tree(copy, sorted(p for p in copy.rglob("*") if p.is_file()), job.output_prefix)
        shutil.rmtree(copy, ignore_errors=True)
        if not processing.job_succeed(job=job, renditions=rows, max_resolution=real.max_resolution):
            raise SystemExit(f"could not finish {asset.id}")
    ready = Asset.objects.filter(environment=environment, status=Asset.Status.READY).count()
    return {"api_key": secret, "asset_id": real.id,
            "playback_id": real.playback_ids.get().id, "ready": ready,
            "renditions": [f"{r['name']} {r['width'] or ''}x{r['height'] or ''} {r['codecs']}"
                           for r in rows], "tracks": len(real.tracks),
            "encode_seconds": round(encoded, 2), "setup_seconds": round(time.monotonic() - started, 2)}


class _Counters:
    """PostgreSQL connections and health checks, Redis round trips, during a request."""

    def __init__(self):
        from django.db.backends.base.base import BaseDatabaseWrapper
        from redis.client import Pipeline, Redis

        self.connects = self.health_checks = self.redis = 0
        self.redis_commands: list[str] = []
        counters = self
        connect, execute_command, pipeline_execute = (
            BaseDatabaseWrapper.connect, Redis.execute_command, Pipeline.execute)

        def counted_connect(wrapper, *args, **kwargs):
            counters.connects += 1
            return connect(wrapper, *args, **kwargs)

        def counted_command(client, *args, **kwargs):
            counters.redis += 1
            counters.redis_commands.append(str(args[0]) if args else "?")
            return execute_command(client, *args, **kwargs)

        def counted_pipeline(pipe, *args, **kwargs):
            counters.redis += 1
            counters.redis_commands.append("pipeline")
            return pipeline_execute(pipe, *args, **kwargs)

        BaseDatabaseWrapper.connect = counted_connect
        Redis.execute_command = counted_command
        Pipeline.execute = counted_pipeline
        from django.db import connections

        backend = type(connections["default"])
        is_usable = backend.is_usable

        def counted_is_usable(wrapper):
            counters.health_checks += 1
            return is_usable(wrapper)

        backend.is_usable = counted_is_usable

    def reset(self) -> None:
        self.connects = self.health_checks = self.redis = 0
        self.redis_commands = []


def _requests(payload: dict):
    """(client, [(key, path, headers)]) for the in-process steps."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1")
    auth = {"Authorization": f"Bearer {payload['api_key']}"}
    return client, [(t["key"], t["path"], auth if t["auth"] else {}) for t in payload["targets"]]


def _served(client, path: str, headers: dict):
    """One request as the WSGI handler serves it: connections that are too old (all of
    them with CONN_MAX_AGE=0) are closed when it starts and when it ends. Django's test
    client skips that, so it is done here."""
    from django.db import close_old_connections

    close_old_connections()
    response = client.get(path, headers=headers)
    close_old_connections()
    return response


def _queries_step(payload: dict) -> dict:
    from django.conf import settings
    from django.db import connection

    counters = _Counters()
    client, requests = _requests(payload)
    found = {}
    for key, path, headers in requests:
        _served(client, path, headers)  # warm: the first request of a process imports things
        _served(client, path, headers)
        sql: list[str] = []

        def record(execute, query, params, many, context, sql=sql):
            sql.append(query)
            return execute(query, params, many, context)

        counters.reset()
        with connection.execute_wrapper(record):
            response = _served(client, path, headers)
        found[key] = {"status": response.status_code, "bytes": len(response.content),
                      "queries": len(sql), "sql": sql, "connects": counters.connects,
                      "health_checks": counters.health_checks, "redis": counters.redis,
                      "redis_commands": list(counters.redis_commands)}
    db = settings.DATABASES["default"]
    return {"targets": found, "conn_max_age": db.get("CONN_MAX_AGE"),
            "conn_health_checks": db.get("CONN_HEALTH_CHECKS")}


# Self time is put in the layer of the code that ran; a C function's (a socket read,
# psycopg's wait, the JSON encoder) in the layer of the Python function that called it.
_LAYERS = [
    ("/psycopg", "PostgreSQL driver (psycopg), incl. waiting for the server"),
    ("/redis/", "Redis client (redis-py), incl. waiting for the server"),
    ("/django/test/", "django.test.Client (not in production)"),
    ("/django/db/", "Django ORM"),
    ("/rest_framework/", "DRF"),
    ("/django/", "Django (handler, middleware, URLs, HTTP)"),
    ("/json/", "json (encoding)"),
    ("/logging/", "logging (the request log line)"),
]
# Inclusive time of a few functions (the largest of those that match, so a method that
# calls its parent's is counted once).
_MARKERS = [
    ("django/core/handlers/base.py", "get_response", "whole request (handler and middleware)"),
    ("django/core/handlers/base.py", "_get_response", "URL resolution and the view"),
    ("django/db/backends/base/base.py", "connect", "open a PostgreSQL connection"),
    ("django/db/backends/base/base.py", "close", "close it"),
    ("django/db/backends/utils.py", "_execute", "SQL: send the queries, wait for rows"),
    ("django/db/models/query.py", "_fetch_all", "ORM querysets, SQL included"),
    ("rest_framework/views.py", "perform_authentication", "API key authentication"),
    ("rest_framework/views.py", "check_permissions", "scope check"),
    ("rest_framework/views.py", "check_throttles", "rate limit budgets (Redis)"),
    ("rest_framework/serializers.py", "data", "serializers (.data)"),
    ("rest_framework/renderers.py", "render", "JSON rendering"),
    ("playback/views.py", "_find", "playback ID lookup"),
    ("playback/hls.py", "master_playlist", "writing the master playlist"),
]


def _layer(filename: str) -> str | None:
    if filename == "~":
        return None
    for needle, name in _LAYERS:
        if needle in filename:
            return name
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        return "Kino code"
    return "other (Python standard library, other packages)"


def _profile_step(payload: dict) -> dict:
    import cProfile
    import pstats

    client, requests = _requests(payload)
    n = payload["requests"]
    found = {}
    for key, path, headers in requests:
        for _ in range(20):
            _served(client, path, headers)
        started = time.perf_counter()
        for _ in range(n):
            _served(client, path, headers)
        plain_ms = (time.perf_counter() - started) * 1000 / n
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            _served(client, path, headers)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        layers: dict[str, float] = {}
        for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.items():
            layer = _layer(filename)
            if layer is None:  # a C function: its caller's layer
                caller = max(callers.items(), key=lambda item: item[1][3], default=None)
                layer = (_layer(caller[0][0]) if caller else None) or "other (Python standard library, other packages)"
            layers[layer] = layers.get(layer, 0.0) + tottime
        total = sum(layers.values())
        markers = []
        for suffix, name, label in _MARKERS:
            times = [ct for (filename, _line, func), (_cc, _nc, _tt, ct, _c) in stats.items()
                     if filename.endswith(suffix) and func == name]
            if times and max(times) > 0:
                markers.append((label, max(times) * 1000 / n))
        top = sorted(((tt, f"{Path(f).name}:{line}({func})") for (f, line, func), (_cc, _nc, tt, _ct, _c)
                      in stats.items()), reverse=True)[:12]
        found[key] = {"plain_ms": plain_ms, "profiled_ms": total * 1000 / n,
                      "layers": sorted(((name, t * 1000 / n) for name, t in layers.items()),
                                       key=lambda item: -item[1]),
                      "markers": markers, "top": [(name, t * 1000 / n) for t, name in top]}
    return {"requests": n, "targets": found}


def run_django_step(step: str) -> int:
    # This script's folder holds other benchmarks (bench/webhooks.py) named like the
    # platform's apps: the project root comes first instead.
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (here, ROOT)]
    import django

    payload = json.loads(sys.stdin.read() or "{}")
    django.setup()
    import logging

    logging.getLogger("django-q").setLevel(logging.WARNING)
    result = {"setup": _setup_step, "queries": _queries_step, "profile": _profile_step}[step](payload)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --- the run ------------------------------------------------------------------------------


def main() -> int:
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds over every request, medians reported (3)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of wrk per request before the rounds, not counted (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--behind-nginx", action="store_true",
                        help="the production profile: wrk asks the front nginx (render_nginx_site), "
                             "in front of gunicorn with config/gunicorn.py")
    parser.add_argument("--worker-class", choices=["sync", "gthread"],
                        help="gunicorn's worker class (default sync; gthread, with its threads "
                             "from config/gunicorn.py, with --behind-nginx)")
    parser.add_argument("--assets", type=int, default=25, help="ready assets to create (25)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/kino_bench_api",
                        help="the database to create for the run and drop after it")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13",
                        help="a Redis database of the bench's own; must be empty")
    parser.add_argument("--profile", action="store_true",
                        help="also profile in-process requests (cProfile): where the time goes")
    parser.add_argument("--profile-requests", type=int, default=200,
                        help="in-process requests of each kind under the profiler (200)")
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="before each wrk run, wait up to this many seconds for the machine "
                             f"to use under {IDLE_CORES} CPUs (0: do not wait; default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and its logs")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print the SQL of each request, the profile's top functions, wrk commands")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is not met")
    parser.add_argument("--django-step", choices=["setup", "queries", "profile"],
                        help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.django_step:
        return run_django_step(opts.django_step)
    VERBOSE = opts.verbose
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wrk = find_tool("wrk")
    if not wrk:
        raise SystemExit("needs wrk: apt-get install -y wrk (Debian package 'wrk')")
    if not shutil.which(os.environ.get("FFMPEG_BIN") or "ffmpeg"):
        raise SystemExit("needs ffmpeg: apt-get install -y ffmpeg")
    if opts.assets < 1:
        raise SystemExit("--assets must be at least 1")
    if opts.behind_nginx and not find_tool("nginx"):
        raise SystemExit("--behind-nginx needs nginx: apt-get install -y nginx")
    worker_class = opts.worker_class or ("gthread" if opts.behind_nginx else "sync")
    stack = opts.stack = (f"gunicorn {opts.workers} {worker_class} workers" + (
        " (config/gunicorn.py) behind the front nginx (render_nginx_site)" if opts.behind_nginx else ""))
    db_url, db_name, admin_url = database_urls(opts.database_url)
    try:
        leftover = redis_client(opts.redis_url).dbsize()
    except Exception as exc:  # noqa: BLE001 - any connection error: say which URL
        raise SystemExit(f"Redis at {opts.redis_url}: {exc}") from exc
    if leftover:
        raise SystemExit(f"Redis database {opts.redis_url} has {leftover} keys; give the bench an "
                         "empty one with --redis-url redis://127.0.0.1:6379/<n>")

    head, changed = code_state()
    digest = diff_digest() if changed else ""
    started_at = datetime.now(UTC)
    say(f"API read path against a bare Django view; {started_at:%Y-%m-%d %H:%M} UTC; "
        f"{cpu_model()}, {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    say(f"code: HEAD {head[:12]}" + (f" + uncommitted changes (diff digest {digest}) in "
                                     f"{', '.join(changed)}"
                                     if changed else " (working tree clean outside bench/)"))

    work = Path(tempfile.mkdtemp(prefix="kino-bench-api-"))
    cluster = f"kino-bench-api-{os.getpid()}"
    env = {key: value for key, value in os.environ.items()
           if key not in ("MEDIA_ROOT", "STORAGE_BACKEND", "PUBLIC_BASE_URL", "ALLOWED_HOSTS",
                          "CONN_MAX_AGE", "PLAYBACK_PATH_SECRET")}
    env.update({
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
        "PYTHONPATH": str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "VAR_DIR": str(work / "var"),
        "DATABASE_URL": db_url,
        "REDIS_URL": opts.redis_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "API_RATE_LIMIT_READ": READ_RATE,
        "Q_CLUSTER_NAME": cluster,
        "WORKERS": "1",
    })
    procs = Processes(work, env, log=debug)
    results: dict[str, list[WrkResult]] = {}
    created_db = False
    try:
        admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin_sql(admin_url, f'CREATE DATABASE "{db_name}"')
        created_db = True
        procs.manage("migrate", "--no-input")
        clip = work / "clip.mp4"
        make_clip(clip)
        data = django_step(env, "setup", {"clip": str(clip), "assets": opts.assets,
                                          "work": str(work)})
        paths = {"bare": "/bench/bare", "asset": f"/api/v1/assets/{data['asset_id']}",
                 "list": "/api/v1/assets", "master": f"/v/{data['playback_id']}.m3u8"}
        for target in TARGETS:
            target.path = paths[target.key]
        headers = {t.key: ({"Authorization": f"Bearer {data['api_key']}"} if t.auth else {})
                   for t in TARGETS}
        say(f"data: {data['ready']} ready assets in PostgreSQL database {db_name} (one encoded "
            f"by the pipeline in {data['encode_seconds']} s from a {CLIP_SECONDS} s {CLIP_SIZE} "
            f"clip, the others finished with its renditions; {data['setup_seconds']} s); "
            f"renditions: {'; '.join(data['renditions'])}; {data['tracks']} tracks; "
            f"1 public playback ID each")
        step_payload = {"api_key": data["api_key"],
                        "targets": [{"key": t.key, "path": t.path, "auth": t.auth} for t in TARGETS]}
        counts = django_step(env, "queries", step_payload)
        profile = (django_step(env, "profile", {**step_payload, "requests": opts.profile_requests})
                   if opts.profile else None)

        port = free_port()
        gunicorn = procs.spawn("gunicorn", [
            venv_bin("gunicorn"), *(["-c", "config/gunicorn.py"] if opts.behind_nginx else []),
            "--worker-class", worker_class, "-w", str(opts.workers),
            "-b", f"127.0.0.1:{port}", "config.wsgi:application"])
        wait_port(port, gunicorn, procs.logs["gunicorn"])
        base = f"http://127.0.0.1:{port}"
        front = []
        if opts.behind_nginx:
            base, nginx = start_front(procs, work, port)
            front = [nginx.pid]
        check_answers(base, TARGETS, headers, data["ready"])
        say(f"server: {stack}, DJANGO_SETTINGS_MODULE={SETTINGS_MODULE} "
            f"(config.settings + /bench/bare), DEBUG off, fresh SECRET_KEY, PostgreSQL "
            f"(CONN_MAX_AGE={counts['conn_max_age']}), Redis {opts.redis_url} (cache, "
            f"rate limits), API_RATE_LIMIT_READ={READ_RATE}")
        say(f"load: wrk -t{opts.threads} -c{opts.connections} -d{opts.duration}s --latency on "
            f"127.0.0.1, {opts.rounds} alternating round(s), {opts.warmup} s warm-up each first")
        servers = [gunicorn.pid]
        if opts.warmup > 0:
            for target in TARGETS:
                run_wrk(wrk, base + target.path, headers[target.key], duration=opts.warmup,
                        threads=opts.threads, connections=opts.connections, servers=servers,
                        front=front)
                drain(servers)
        for round_no in range(opts.rounds):
            order = TARGETS[round_no % len(TARGETS):] + TARGETS[:round_no % len(TARGETS)]
            for target in order:
                if opts.idle_wait > 0:
                    waited = time.monotonic()
                    busy = wait_idle(opts.idle_wait)
                    if busy is not None and busy > IDLE_CORES:
                        say(f"  (machine still busy after {opts.idle_wait:.0f} s: "
                            f"{busy:.2f} CPUs in use by other processes)")
                    elif busy is not None:
                        say(f"  (waited {time.monotonic() - waited:.0f} s for the machine "
                            "to be quiet)")
                result = run_wrk(wrk, base + target.path, headers[target.key],
                                 duration=opts.duration, threads=opts.threads,
                                 connections=opts.connections, servers=servers, front=front)
                results.setdefault(target.key, []).append(result)
                drain(servers)
                say(f"round {round_no + 1} {target.label:26} {result.rps:8.0f} req/s  "
                    f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  CPU/request: "
                    f"gunicorn {result.server_ms:.2f} ms, "
                    + (f"nginx {result.front_ms:.2f} ms, " if front else "") + "PostgreSQL+Redis "
                    f"{result.services_ms:.2f} ms; others {result.others:.2f} CPUs")
                if result.bad:
                    say(f"  WARNING: {target.label} answered {result.bad} of {result.requests} "
                        "requests badly (non-2xx or socket errors)")
    finally:
        procs.stop_all()
        if created_db:
            try:
                admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report, keep cleaning up
                say(f"could not drop database {db_name}: {exc}")
        try:
            redis_cleanup(opts.redis_url, ["kino:*", f"django_q:{cluster}:*"])
        except Exception as exc:  # noqa: BLE001
            say(f"could not clean Redis {opts.redis_url}: {exc}")
        if opts.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    head_after, changed_after = code_state()
    return report(opts, results, counts, profile, (head, changed, digest),
                  (head_after, changed_after))


def report(opts, results, counts, profile, code_before, code_after) -> int:
    (head, changed, digest), (head_after, changed_after) = code_before, code_after
    def median(key: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[key])

    bare = median("bare", "rps")
    say("")
    say(f"results (median of {opts.rounds} round(s); queries from one in-process request each):")
    say("| request | req/s | p50 ms | p99 ms | × bare (req/s) | gunicorn CPU ms/req | "
        "× bare (CPU) | SQL queries | PG connects | Redis round trips | goal |")
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    bare_cpu = median("bare", "server_ms")
    verdicts = []
    for target in TARGETS:
        rps, p50, p99 = (median(target.key, a) for a in ("rps", "p50_ms", "p99_ms"))
        ratio = rps / bare if bare else float("nan")
        c = counts["targets"][target.key]
        if target.goal is None:
            goal = "baseline"
        else:
            met = ratio >= target.goal and (target.p99_goal_ms is None or p99 < target.p99_goal_ms)
            verdicts.append((target, met))
            goal = (f"≥ {target.goal} × bare" + (f", p99 < {target.p99_goal_ms:g} ms"
                                                 if target.p99_goal_ms else "")
                    + (": met" if met else ": **not met**"))
        cpu = median(target.key, "server_ms")
        say(f"| {target.label} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {ratio:.3f} | {cpu:.2f} | "
            f"{bare_cpu / cpu if cpu else float('nan'):.3f} | {c['queries']} | {c['connects']} | "
            f"{c['redis']} | {goal} |")
    say("(× bare (CPU): the bare view's gunicorn CPU time per request over this one's, the "
        "req/s ratio the request would reach if gunicorn's CPU were all that limited it; it "
        "holds better than req/s on a shared machine. The goals are judged on req/s.)")
    if opts.behind_nginx:
        say("(nginx CPU per request: " + ", ".join(
            f"{t.key} {median(t.key, 'front_ms'):.2f} ms" for t in TARGETS) + ")")
    say("(PostgreSQL and Redis CPU per request, shared servers: " + ", ".join(
        f"{t.key} {median(t.key, 'services_ms'):.2f} ms" for t in TARGETS) + ")")
    say(f"(PostgreSQL: CONN_MAX_AGE={counts['conn_max_age']}, health checks "
        f"{'on' if counts['conn_health_checks'] else 'off'}: "
        + ", ".join(f"{t.key} {counts['targets'][t.key]['health_checks']}" for t in TARGETS)
        + " health-check round trips; Redis commands: "
        + "; ".join(f"{t.key} {' '.join(counts['targets'][t.key]['redis_commands']) or '-'}"
                    for t in TARGETS) + ")")
    if VERBOSE:
        for target in TARGETS:
            for sql in counts["targets"][target.key]["sql"]:
                say(f"  {target.key} SQL: {sql[:400]}")
    runs = [r for rs in results.values() for r in rs]
    disturbed = sum(1 for r in runs if r.others > 0.1 * (os.cpu_count() or 1))
    if disturbed:
        say(f"WARNING: in {disturbed} of {len(runs)} wrk runs other processes used over 10 % of "
            "the machine's CPU (the machine was shared; PostgreSQL, Redis, gunicorn and wrk "
            "are not counted as others); absolute figures are noisy, ratios within the run "
            "less so, CPU per request least.")
    bad = sum(r.bad for r in runs)
    if bad:
        say(f"WARNING: {bad} requests were answered badly (non-2xx or socket errors).")

    if profile:
        say("")
        say(f"model: where one request's time goes (cProfile of {profile['requests']} in-process "
            "requests of each kind through django.test.Client, one at a time, same PostgreSQL "
            "and Redis, connections closed around each as under gunicorn; the profiler "
            "inflates Python time, so the shares are a model, not a measurement):")
        for target in TARGETS:
            p = profile["targets"][target.key]
            total = p["profiled_ms"]
            say(f"  {target.label}: {p['plain_ms']:.2f} ms/request in-process without the "
                f"profiler, {total:.2f} ms under it")
            say("    by layer (self time): " + ", ".join(
                f"{name} {ms:.2f} ms ({ms / total:.0%})" for name, ms in p["layers"] if ms / total >= 0.01))
            say("    inclusive: " + ", ".join(f"{label} {ms:.2f} ms" for label, ms in p["markers"]))
            if VERBOSE:
                say("    top self time: " + ", ".join(f"{name} {ms:.3f} ms" for name, ms in p["top"]))

    say("")
    code = head[:12] + (f" + uncommitted changes (diff {digest})" if changed else "")
    if head_after != head:
        say(f"NOTE: HEAD moved during the run, {head[:12]} -> {head_after[:12]}; gunicorn ran "
            "the working tree as it was when it started.")
        code += f" (HEAD {head_after[:12]} at the end)"
    elif changed_after != changed:
        say("NOTE: the working tree changed during the run (uncommitted changes now in "
            f"{', '.join(changed_after)}); gunicorn ran it as it was when it started.")
    parts = [f"bare {bare:.0f} req/s"]
    for target in TARGETS[1:]:
        rps, p99 = median(target.key, "rps"), median(target.key, "p99_ms")
        parts.append(f"{target.key} {rps:.0f} ({rps / bare if bare else float('nan'):.2f}x, "
                     f"p99 {p99:.1f} ms)")
    say(f"SUMMARY: {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, code {code}, "
        f"{opts.stack}, wrk -t{opts.threads} -c{opts.connections} "
        f"-d{opts.duration}s x {opts.rounds}: " + ", ".join(parts) + "; goals: "
        + ", ".join(f"{t.key} {'met' if met else 'NOT met'}" for t, met in verdicts))
    return 1 if opts.check and not all(met for _, met in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())

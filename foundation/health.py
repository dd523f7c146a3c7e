"""Liveness and readiness, for load balancers and orchestrators (never cached).

GET /healthz: 200 while the process serves requests; it checks nothing else.
GET /readyz: 200 {"checks": {...: "ok"}} when this process can do its work, or 503 with
every check and the failing ones named: `database` (a query), `queue` (the task broker:
Redis when REDIS_URL is set, else the database itself), `storage` (a small file written,
read back and deleted), `ffmpeg` (the binary is there to run), and the checks the apps
add (`ingest`: live/health.py). Each check is quick: a healthy answer takes a few
milliseconds. `?exclude=<name>` (repeatable) leaves a check out, for a probe that should
not depend on it (a web server's load balancer on the ingest nodes, say).
"""

from __future__ import annotations

import shutil
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _queue() -> None:
    if not settings.REDIS_URL:
        _database()  # the ORM broker keeps the queue in the database
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def _storage() -> None:
    storage = storages["default"]
    name = storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with storage.open(name, "rb") as fh:
            if fh.read() != b"ok":
                raise OSError("what was read back differs from what was written")
    finally:
        storage.delete(name)


def _ffmpeg() -> None:
    for binary in (settings.FFMPEG_BIN, settings.FFPROBE_BIN):
        if shutil.which(binary) is None:
            raise FileNotFoundError(f"{binary} is not installed or not executable")


CHECKS = {"database": _database, "queue": _queue, "storage": _storage, "ffmpeg": _ffmpeg}


def register_check(name: str, check) -> None:
    """Add a readiness check (an app's ready()): a callable that raises when failing."""
    CHECKS[name] = check


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    checks, failing = {}, []
    excluded = set(request.GET.getlist("exclude"))
    for name, check in CHECKS.items():
        if name in excluded:
            continue
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # each failure is reported, named, never raised
            checks[name] = f"failing: {type(exc).__name__}: {str(exc)[:200]}"
            failing.append(name)
    body = {"status": "ok" if not failing else "failing", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)

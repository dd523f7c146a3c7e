"""A revoked API key is refused from the next request on by every web process.

gunicorn with two worker processes shares Redis, as in production. Both serve the key
(from the cache), the key is revoked through the service, and then the first request
each worker answers is a 401. Which worker answered is read from gunicorn's access
log (its pid, and a header naming the request).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.core.cache import cache

from foundation import credential_failures, key_cache
from foundation.tenancy import api_key_revoke
from tests.conftest import ADMIN
from tests.e2e.conftest import _database_url
from tests.e2e.live import free_port
from tests.shared_cache import redis_cache, redis_url

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# The prefix config/settings.py gives the cache with REDIS_URL: this process reads and
# writes the servers' entries.
SERVERS_KEY_PREFIX = "kino"


@dataclass
class Gunicorn:
    base_url: str
    access_log: Path
    output: Path

    def served(self, names: list[str]) -> list[tuple[str, int]]:
        """(worker pid, status) of the named requests, from the access log, which a
        worker writes just after its response."""
        deadline = time.monotonic() + 10
        while True:
            rows = {}
            for line in self.access_log.read_text().splitlines():
                pid, name, status = line.split()
                rows[name] = (pid, int(status))
            if all(name in rows for name in names) or time.monotonic() > deadline:
                return [rows[name] for name in names]
            time.sleep(0.05)


@pytest.fixture
def gunicorn(transactional_db, settings, media_root, tmp_path):
    url = redis_url()
    settings.CACHES = redis_cache(url, SERVERS_KEY_PREFIX)
    credential_failures.reset("127.0.0.1")
    port = free_port()
    server = Gunicorn(base_url=f"http://127.0.0.1:{port}", access_log=tmp_path / "access.log",
                      output=tmp_path / "gunicorn.log")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": url,
        "MEDIA_ROOT": str(media_root),
        "VAR_DIR": str(tmp_path / "var"),
        "PUBLIC_BASE_URL": server.base_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Budgets and failure counts of this address are not what is tested here.
        "API_RATE_LIMIT_READ": "100000/second",
        "CREDENTIAL_FAILURE_LIMIT": "100000",
    }
    with open(server.output, "ab") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--access-logfile", str(server.access_log),
             "--access-logformat", "%(p)s %({x-probe}i)s %(s)s"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{server.base_url}/api/v1/assets", timeout=5,
                             headers={"X-Probe": "start"})
                break
            except (requests.ConnectionError, requests.Timeout) as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n"
                                       + server.output.read_text(errors="replace")[-4000:]) from exc
                time.sleep(0.2)
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        credential_failures.reset("127.0.0.1")


def until_both_workers_answer(server: Gunicorn, secret: str, phase: str,
                              limit: int = 200) -> list[tuple[str, int]]:
    """Requests four at a time (so that both sync workers are busy) until each worker has
    answered one; returns (pid, status) of every request of the phase, in order sent."""
    sent: list[str] = []

    def get(name: str) -> None:
        requests.get(f"{server.base_url}/api/v1/assets", timeout=30,
                     headers={"Authorization": f"Bearer {secret}", "X-Probe": name})

    with ThreadPoolExecutor(4) as pool:
        while len(sent) < limit:
            names = [f"{phase}-{len(sent) + i}" for i in range(4)]
            sent += names
            list(pool.map(get, names))
            served = server.served(sent)
            if len({pid for pid, _ in served}) == 2:
                return served
    raise AssertionError(f"one worker answered all {limit} requests of {phase}")


def test_every_worker_refuses_a_revoked_key_on_its_next_request(gunicorn, environment,
                                                                make_key):
    key, secret = make_key(environment)

    warm = until_both_workers_answer(gunicorn, secret, "warm")
    assert {status for _, status in warm} == {200}
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert cache.get(f"api-key:{digest}")["id"] == key.id  # served from the shared cache
    assert key_cache.enabled()

    api_key_revoke(key=key, actor=ADMIN)

    # Every request from the first on, whichever of the two workers answers it.
    after = until_both_workers_answer(gunicorn, secret, "after")
    assert [status for _, status in after] == [401] * len(after), after

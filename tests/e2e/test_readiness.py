"""/readyz of a web server whose database is really unreachable: nothing listens where
DATABASE_URL points. It still serves /healthz, and /readyz names the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from .conftest import ROOT
from .live import free_port

pytestmark = pytest.mark.e2e


def test_readyz_is_503_naming_the_database_when_nothing_answers_there(tmp_path):
    port, dead = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead}/kino",
           "VAR_DIR": str(tmp_path / "var"), "MEDIA_ROOT": str(tmp_path / "media"),
           "SECRET_KEY": "readiness-" + "x" * 40, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)  # the queue is then the database too
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                            "config.asgi:application"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                healthz = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.1)
        readyz = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    finally:
        web.terminate()
        web.wait(timeout=10)

    assert healthz.status_code == 200
    assert readyz.status_code == 503
    body = readyz.json()
    assert "database" in body["failing"] and "queue" in body["failing"]
    assert body["checks"]["database"].startswith("failing: OperationalError")
    assert body["checks"]["storage"] == "ok" and body["checks"]["ffmpeg"] == "ok"
    assert "no-cache" in readyz.headers["Cache-Control"]

"""Database connections as the environment sets them: persistent by default, a pool on
request, and never both; none kept under ASGI.

Each case starts Python afresh, as a server process would, since settings are read once.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .test_secure_defaults import ROOT, child_env

_SCRUBBED = ("DATABASE_URL", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DATABASE_POOL",
             "DATABASE_POOL_MIN_SIZE", "DATABASE_POOL_MAX_SIZE")
POSTGRES = "postgres://kino@127.0.0.1:5432/kino"

_READ = """
import json, sys
if sys.argv[1] == "asgi":
    import config.asgi
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({k: db.get(k) for k in ("ENGINE", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
                 | {"pool": db.get("OPTIONS", {}).get("pool")}))
"""


def database(tmp_path, *, server: str = "wsgi", **environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in child_env(tmp_path / "var").items() if k not in _SCRUBBED}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", _READ, server], cwd=ROOT, env=env, timeout=120,
                          capture_output=True, text=True)


def settings_of(tmp_path, **kwargs) -> dict:
    done = database(tmp_path, **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("url", [None, POSTGRES])
def test_connections_persist_for_a_minute_with_health_checks_by_default(tmp_path, url):
    db = settings_of(tmp_path, **({"DATABASE_URL": url} if url else {}))

    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"], db["pool"]) == (60, True, None)


def test_the_environment_sets_the_age_and_the_checks(tmp_path):
    db = settings_of(tmp_path, CONN_MAX_AGE="0", CONN_HEALTH_CHECKS="0")

    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (0, False)


def test_the_asgi_server_keeps_no_connection_past_its_request(tmp_path):
    db = settings_of(tmp_path, server="asgi", DATABASE_URL=POSTGRES, CONN_MAX_AGE="300")

    assert db["CONN_MAX_AGE"] == 0


def test_a_pool_replaces_persistent_connections(tmp_path):
    db = settings_of(tmp_path, DATABASE_URL=POSTGRES, DATABASE_POOL="1",
                     DATABASE_POOL_MAX_SIZE="12")

    assert (db["CONN_MAX_AGE"], db["pool"]) == (0, {"min_size": 2, "max_size": 12})


@pytest.mark.parametrize(("environment", "message"), [
    ({"DATABASE_POOL": "1"}, "DATABASE_POOL needs PostgreSQL"),
    ({"DATABASE_POOL": "1", "DATABASE_URL": POSTGRES, "CONN_MAX_AGE": "60"},
     "leave CONN_MAX_AGE unset or 0"),
    ({"DATABASE_POOL": "1", "DATABASE_URL": POSTGRES, "DATABASE_POOL_MIN_SIZE": "9"},
     "DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE"),
    ({"CONN_MAX_AGE": "-1"}, "CONN_MAX_AGE must be at least 0"),
])
def test_it_refuses_settings_that_cannot_work_together(tmp_path, environment, message):
    done = database(tmp_path, **environment)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr

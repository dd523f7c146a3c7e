"""Settings as a fresh install loads them: no public secret, DEBUG off, deploy checks clean.

Each case starts Python afresh with its own environment, as a server process would, so
what is read at import time (the per-install secret, DEBUG) is really read.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Settings a developer's or CI's shell may carry; each case sets its own.
_SCRUBBED = ("SECRET_KEY", "DEBUG", "PLAYBACK_PATH_SECRET", "LIVE_INGEST_SECRET", "VAR_DIR",
             "PUBLIC_BASE_URL", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")

_READ_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
from django.test import Client
page = Client().get("/no/such/page", HTTP_HOST="127.0.0.1")
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "PLAYBACK_PATH_SECRET": settings.PLAYBACK_PATH_SECRET,
    "LIVE_INGEST_SECRET": settings.LIVE_INGEST_SECRET,
    "404": [page.status_code, page.content.decode()],
}))
"""


def child_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="config.settings", **extra)
    return env


def load_settings(var_dir: Path, **extra: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _READ_SETTINGS], cwd=ROOT, timeout=120,
                          env=child_env(var_dir, **extra), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def tracked_files_containing(needle: str) -> list[str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    found = []
    for name in filter(None, names):
        path = ROOT / name
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(name)
    return found


def test_a_fresh_install_makes_its_own_secret_and_keeps_it(tmp_path):
    first = load_settings(tmp_path / "a")
    again = load_settings(tmp_path / "a")
    elsewhere = load_settings(tmp_path / "b")

    secret_file = tmp_path / "a" / "secret_key"
    assert secret_file.read_text().strip() == first["SECRET_KEY"]
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(first["SECRET_KEY"]) >= 50
    assert again == first
    for name in ("SECRET_KEY", "PLAYBACK_PATH_SECRET", "LIVE_INGEST_SECRET"):
        assert elsewhere[name] != first[name], name
    assert first["PLAYBACK_PATH_SECRET"] != first["LIVE_INGEST_SECRET"]


def test_no_secret_the_install_uses_is_in_a_tracked_file(tmp_path):
    loaded = load_settings(tmp_path / "var")

    for name in ("SECRET_KEY", "PLAYBACK_PATH_SECRET", "LIVE_INGEST_SECRET"):
        assert tracked_files_containing(loaded[name]) == [], name
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/secret_key"], cwd=ROOT)
    assert ignored.returncode == 0, "var/ must stay out of git"


def test_a_secret_key_from_the_environment_is_used_and_no_file_is_made(tmp_path):
    key = secrets.token_urlsafe(50)
    loaded = load_settings(tmp_path / "var", SECRET_KEY=key)

    assert loaded["SECRET_KEY"] == key
    assert not (tmp_path / "var" / "secret_key").exists()


def test_debug_is_off_unless_asked_for(tmp_path):
    assert load_settings(tmp_path / "var")["DEBUG"] is False
    assert load_settings(tmp_path / "var", DEBUG="1")["DEBUG"] is True


def test_a_404_page_does_not_list_the_url_patterns(tmp_path):
    status, body = load_settings(tmp_path / "var")["404"]

    assert status == 404
    assert "URLconf" not in body and "admin/" not in body and "api/v1/" not in body


def test_check_deploy_is_clean_for_an_https_site(tmp_path):
    env = child_env(tmp_path / "var", PUBLIC_BASE_URL="https://video.example.com",
                    SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="video.example.com")
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "no issues" in output, output
    assert "WARNING" not in output, output


def test_processes_starting_together_on_a_fresh_install_agree_on_its_secret(tmp_path):
    read = ("import sys; from pathlib import Path; from config.install_secret import install_secret;"
            " print(install_secret(Path(sys.argv[1])))")
    starting = [subprocess.Popen([sys.executable, "-c", read, str(tmp_path / "var")], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True) for _ in range(6)]
    secrets_read = {proc.communicate(timeout=60)[0].strip() for proc in starting}

    assert secrets_read == {(tmp_path / "var" / "secret_key").read_text().strip()}
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret_key"]


_REQUESTS = """
import json
import django
django.setup()
from django.test import Client
client = Client()
host = {"HTTP_HOST": "video.example.com"}
https = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https", **host)
print(json.dumps({
    "plain": client.get("/admin/login/", **host).status_code,
    "proxied_https": [https.status_code, https.headers.get("Strict-Transport-Security")],
    "ingest_callback": client.post("/live/ingest/not-the-secret/edge-1/on_publish", **host).status_code,
}))
"""


def test_an_https_site_redirects_plain_http_but_not_the_ingest_callbacks(tmp_path):
    env = child_env(tmp_path / "var", PUBLIC_BASE_URL="https://video.example.com",
                    SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="video.example.com")
    done = subprocess.run([sys.executable, "-c", _REQUESTS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answered = json.loads(done.stdout.strip().splitlines()[-1])

    assert answered["plain"] == 301
    assert answered["proxied_https"] == [200, "max-age=31536000; includeSubDomains"]
    assert answered["ingest_callback"] == 403  # refused for its secret, over plain HTTP

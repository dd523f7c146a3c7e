"""The production profile as an operator starts it: `bin/run-prod` on PostgreSQL and Redis,
nginx in front of gunicorn and daphne, a worker and the ingest; a clip uploaded and played
in Chromium through nginx, then Ctrl-C."""

from __future__ import annotations

import base64
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.browser import chromium_page
from tests.clips import make_clip

from .conftest import ROOT
from .live import HAVE_RTMP, free_port, free_udp_range

pytestmark = pytest.mark.e2e

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
SCREENSHOT = "/tmp/production-profile-embed.png"
# One line a request: msec status body_bytes_sent method path (deploy/nginx/site.conf.template).
ACCESS_LINE = re.compile(r"^\d{10}\.\d{3} \d{3} \d+ [A-Z]+ /\S*$")


def _server_url(name: str) -> str:
    return urlunsplit(urlsplit(DATABASE_URL)._replace(path=f"/{name}"))


def _sql(sql: str) -> None:
    import psycopg

    url = _server_url("postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


def _family(root: int) -> dict[int, str]:
    """`root` and every process it started, still running: pid -> start time."""
    parents, started = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry)], started[int(entry)] = int(fields[1]), fields[19]
    members, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return {pid: started[pid] for pid in members if pid in started}


def _still_running(family: dict[int, str]) -> list[str]:
    left = []
    for pid, started in family.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[19] == started and fields[0] != "Z":  # the same process, not yet reaped
            left.append(f"{pid} {cmdline}")
    return left


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")) or not REDIS_URL,
                    reason="the production profile runs on PostgreSQL and Redis: set DATABASE_URL "
                           "(postgres://...) and REDIS_URL, as CI does")
@pytest.mark.skipif(NGINX is None or not shutil.which("chromium"),
                    reason="needs nginx and chromium (Debian packages nginx, chromium)")
def test_run_prod_serves_an_upload_and_its_playback_through_nginx_and_stops_on_ctrl_c(tmp_path):
    database = f"kino_prod_{uuid.uuid4().hex[:10]}"
    port, web_port, websocket_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    var = tmp_path / "var"
    cluster = f"kino-prod-{uuid.uuid4().hex[:8]}"
    srt = free_udp_range(2)
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
           if name in os.environ}
    env.update({
        "DATABASE_URL": _server_url(database), "REDIS_URL": REDIS_URL,
        "PORT": str(port), "WEB_PORT": str(web_port), "WEBSOCKET_PORT": str(websocket_port),
        "VAR_DIR": str(var), "MEDIA_ROOT": str(tmp_path / "media"),
        "WEB_WORKERS": "2", "WORKERS": "1", "Q_CLUSTER_NAME": cluster,
        "RTMP_PORT": str(free_port()), "LIVE_HTTP_PORT": str(free_port()),
        "SRT_PORTS": f"{srt.start}-{srt.stop - 1}", "LIVE_DIR": str(tmp_path / "live"),
    })
    clip = make_clip(tmp_path / "clip.mp4", seconds=4, size="320x180")
    _sql(f'CREATE DATABASE "{database}"')
    output = tmp_path / "run-prod.out"
    with open(output, "wb") as out:
        run = subprocess.Popen([str(ROOT / "bin" / "run-prod")], cwd=ROOT, env=env, stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    family: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 180
        while True:
            assert run.poll() is None, output.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, output.read_text(errors="replace")[-4000:]
            try:
                ready = requests.get(f"{base}/readyz", timeout=5)
                if ready.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert ready.headers["Server"].startswith("nginx")
        assert ready.json()["checks"] and set(ready.json()["checks"].values()) == {"ok"}
        demo = dict(line.split("=", 1) for line in shlex.split((var / "demo.env").read_text()))
        auth = {"Authorization": f"Bearer {demo['DEMO_API_KEY']}"}

        upload = requests.post(f"{base}/api/v1/uploads", headers=auth, timeout=10, json={
            "new_asset_settings": {"playback_policy": ["public"], "title": "Through nginx"}}).json()
        assert upload["url"].startswith(f"{base}/upload/")
        with open(clip, "rb") as fh:
            put = requests.put(upload["url"], data=fh, timeout=60)
        assert put.status_code == 200, put.text
        asset_url = f"{base}/api/v1/assets/{put.json()['asset_id']}"
        deadline = time.monotonic() + 90
        while (asset := requests.get(asset_url, headers=auth, timeout=10).json())["status"] != "ready":
            assert asset["status"] != "errored" and time.monotonic() < deadline, asset
            time.sleep(0.3)
        playback_id = asset["playback_ids"][0]["id"]
        master = requests.get(f"{base}/v/{playback_id}.m3u8?token=not-for-the-log", timeout=10)
        signature = next(line for line in master.text.splitlines()
                         if line.startswith("/v/")).split("/")[5]

        # Spellings of a signed path that nginx routes alike; none may reach the log as sent.
        odd = [f"//v/{playback_id}/s/1/oddsignature1/x.m4s",
               f"/v/{playback_id}%2Fs%2F1%2Foddsignature2%2Fx.m4s",
               f"/x/../v/{playback_id}/s/1/oddsignature3/x.m4s"]
        for path in odd:
            raw = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            raw.request("GET", path)
            assert raw.getresponse().status in (400, 403, 404)
            raw.close()

        # The dashboard's WebSocket reaches daphne through nginx (and, signed out, is closed).
        with socket.create_connection(("127.0.0.1", port), timeout=10) as ws:
            key = base64.b64encode(os.urandom(16)).decode()
            ws.sendall((f"GET /ws/live/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Origin: {base}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            assert ws.recv(4096).startswith(b"HTTP/1.1 101 ")

        family = _family(run.pid)
        with chromium_page() as page:
            page.set_viewport_size({"width": 640, "height": 360})
            page.goto(f"{base}/admin/login/")
            header = page.evaluate("getComputedStyle(document.getElementById('header')).backgroundColor")
            page.goto(f"{base}/embed/{playback_id}?autoplay=1&muted=1")
            page.wait_for_function("document.getElementById('player').currentTime > 1.5",
                                   timeout=30_000)
            state = page.evaluate("""() => {
                const v = document.getElementById('player');
                return {height: v.videoHeight, error: v.error && v.error.code};
            }""")
            page.screenshot(path=SCREENSHOT)

        # The admin's stylesheet, which nginx served from STATIC_ROOT, applied.
        assert header not in ("rgba(0, 0, 0, 0)", "transparent"), header
        assert state == {"height": 180, "error": None}

        access = (var / "log" / "nginx-access.log").read_text()
        lines = access.splitlines()
        assert lines and all(ACCESS_LINE.match(line) for line in lines), access[-2000:]
        # Each segment in full: its file's bytes, as usage metering counts them.
        segments = [line.split() for line in lines
                    if "/[signature]/assets/" in line and line.endswith(".m4s")]
        assert segments
        for _, status, sent, _, path in segments:
            size = (tmp_path / "media" / path.split("/[signature]/", 1)[1]).stat().st_size
            assert status == "200" and int(sent) == size, (path, sent, size)
        assert any(f" GET /v/{playback_id}/s/" in line and line.endswith("/index.m3u8")
                   for line in lines)
        assert re.search(rf" 200 \d+ PUT /upload/{upload['id']}/\[token\]$", access, re.M)
        assert re.search(r" 200 \d+ GET /static/vendor/hls\.js/hls\.min\.js$", access, re.M)
        assert re.search(rf" 200 \d+ GET /v/{playback_id}\.m3u8$", access, re.M)
        for secret in (signature, upload["url"].rsplit("/", 1)[1], "not-for-the-log", "token=",
                       "oddsignature"):
            assert secret not in access
        # nginx served the segments and static files itself: the platform never saw them.
        web_log = (var / "log" / "web.log").read_text(errors="replace")
        assert f"GET /v/{playback_id}.m3u8 200" in web_log
        assert ".m4s" not in web_log and "/static/" not in web_log

        family.update(_family(run.pid))
        running = " | ".join(line.split(" ", 1)[1] for line in _still_running(family))
        for part in ("gunicorn", "daphne", "nginx: master", "manage.py worker", "qcluster",
                     *(("manage.py live_ingest",) if HAVE_RTMP else ())):
            assert part in running, part
        stopped_at = time.monotonic()
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=20) == 130
        assert time.monotonic() - stopped_at < 12
        assert _still_running(family) == []
        assert not any(_answers(p) for p in (port, web_port, websocket_port))
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        family.update(_family(run.pid) if run.poll() is None else {})
        for line in _still_running(family):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        _sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        try:
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            names = list(client.scan_iter(match=f"django_q:{cluster}:*"))
            if names:
                client.delete(*names)
        except Exception:  # noqa: BLE001 - leftovers of a queue nobody else reads
            pass

"""The platform spread over machines that share nothing on disk: two web servers behind
nginx, two workers, one ingest node, each with a VAR_DIR of its own, meeting only in the
database, the broker and a bucket on an S3 server (deploy/README.md, "Each role on
machines of its own").

A tus upload whose requests nginx hands to the two web servers in turn, a URL import
and a live stream with its recording all play through nginx; the live stream's segments
come from the ingest node itself, its recording reaches the workers through the bucket.
Deleting the assets empties the bucket, and no machine keeps a file of the media."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests import s3_server
from tests.clips import make_clip, probe

from .conftest import ROOT, files_under
from .live import HAVE_RTMP, free_port, publish, stop, wait_for
from .test_nginx_delivery import NGINX, open_to_nginx, running_nginx
from .test_vod_flow import _create_upload, _wait_for
from .test_workers_apart import start_worker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_RTMP or NGINX is None,
                       reason="needs nginx, libnginx-mod-rtmp and ffmpeg"),
]
TUS = {"Tus-Resumable": "1.0.0"}
MEDIA_FILES = (".mp4", ".m4s", ".ts", ".flv", ".m3u8", ".jpg", ".webp", ".vtt", ".m4a")


def own_home(platform, home: Path) -> dict:
    """A machine's environment: the platform's, with a disk of its own."""
    return {**platform.env, "VAR_DIR": str(home), "PROCESSING_TMP_DIR": str(home / "tmp"),
            "UPLOAD_STAGING_DIR": str(home / "staging"), "MEDIA_ROOT": str(home / "media"),
            "LIVE_DIR": str(home / "live")}


def spawn(platform, env: dict, args: list[str], name: str) -> subprocess.Popen:
    log = open(platform.log_dir / f"{name}.log", "ab")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    platform.workers.append(proc)  # stopped with the platform
    return proc


def up(url: str, proc: subprocess.Popen, platform, name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            assert proc.poll() is None, platform.log(f"{name}.log")
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.1)


def second_web_server(platform, home: Path) -> str:
    port = free_port()
    proc = spawn(platform, own_home(platform, home),
                 [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                  "config.asgi:application"], "web-2")
    base = f"http://127.0.0.1:{port}"
    up(f"{base}/healthz", proc, platform, "web-2")
    return base


def ingest_node(platform, home: Path, nginx_url: str) -> str:
    """live_ingest on a machine of its own: it calls the platform through nginx and
    serves its own HLS to viewers. Returns that HLS server's URL."""
    hls_port = free_port()
    hls_url = f"http://127.0.0.1:{hls_port}"
    env = {**own_home(platform, home), "LIVE_NODE_NAME": "ingest-1",
           "LIVE_PLATFORM_URL": nginx_url, "LIVE_HLS_PORT": str(hls_port), "LIVE_HLS_URL": hls_url}
    proc = spawn(platform, env, [sys.executable, "manage.py", "live_ingest", "--srt-bind",
                                 "127.0.0.1"], "ingest")
    up(f"http://127.0.0.1:{platform.env['LIVE_HTTP_PORT']}/stat", proc, platform, "ingest")
    return hls_url


@pytest.fixture
def source_server(tmp_path):
    """Somewhere to import a video from (127.0.0.1, allowed by URL_IMPORT_ALLOWED_NETWORKS)."""
    root = tmp_path / "source"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("media_backend", ["s3"], indirect=True)
@pytest.mark.platform_env(URL_IMPORT_ALLOWED_NETWORKS="127.0.0.1/32")
def test_web_workers_and_ingest_on_their_own_disks_meet_only_in_the_bucket(
        platform, environment, make_key, tmp_path, bucket, source_server):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    open_to_nginx(bucket)
    # The first web server (the platform fixture's) keeps its own disk too: only its
    # VAR_DIR, staging and scratch folders, none of which another machine reads.
    web = [platform.base_url, second_web_server(platform, tmp_path / "web-2")]
    for name in ("worker-1", "worker-2"):
        start_worker(platform, tmp_path / name)
    homes = [Path(platform.env["VAR_DIR"]), Path(platform.env["UPLOAD_STAGING_DIR"]),
             Path(platform.env["PROCESSING_TMP_DIR"]), Path(platform.env["MEDIA_ROOT"]),
             *(tmp_path / name for name in ("web-2", "worker-1", "worker-2", "ingest-1"))]

    with running_nginx(platform, tmp_path / "nginx", upstreams=web) as (nginx, folder):
        hls_url = ingest_node(platform, tmp_path / "ingest-1", nginx)

        # 1. A tus upload, its requests handed by nginx to the web servers in turn.
        clip = make_clip(tmp_path / "clip.mp4", seconds=4, size="640x360").read_bytes()
        path = urlsplit(_create_upload(platform, secret)["url"]).path
        created = requests.post(nginx + path, timeout=10,
                                headers={**TUS, "Upload-Length": str(len(clip))})
        assert created.status_code == 201, created.text
        size, offset = -(-len(clip) // 6), 0
        while offset < len(clip):
            answer = requests.patch(nginx + path, data=clip[offset:offset + size], timeout=30,
                                    headers={**TUS, "Upload-Offset": str(offset),
                                             "Content-Type": "application/offset+octet-stream"})
            assert answer.status_code == 204, answer.text
            offset = int(answer.headers["Upload-Offset"])
        uploaded = answer.headers["Upload-Asset-Id"]
        token = path.rsplit("/", 1)[0]  # the log lines redact the token after it
        for log_name in ("web.log", "web-2.log"):
            assert re.search(rf"PATCH {re.escape(token)}/\S+ 204",
                             (platform.log_dir / log_name).read_text()), log_name

        # 2. A URL import.
        root, source_url = source_server
        make_clip(root / "import.mp4", seconds=3, size="320x180")
        imported = requests.post(f"{nginx}/api/v1/assets", headers=auth, timeout=10, json={
            "input": f"{source_url}/import.mp4", "playback_policy": ["public"]})
        assert imported.status_code == 201, imported.text
        imported = imported.json()["id"]

        # 3. A live stream with a recording, its segments served by the ingest node.
        stream = requests.post(f"{nginx}/api/v1/live-streams", headers=auth, timeout=10, json={
            "playback_policy": ["public"], "reconnect_window": 0, "latency_mode": "low",
            "new_asset_settings": {"playback_policy": ["public"]}}).json()
        encoder = publish(f"{stream['rtmp_url']}/{stream['stream_key']}", seconds=8)
        try:
            wait_for(lambda: requests.get(f"{nginx}/api/v1/live-streams/{stream['id']}",
                                          headers=auth, timeout=5).json()["status"] == "active",
                     timeout=30, what="the stream to go active")
            live_master = f"{nginx}/v/{stream['playback_ids'][0]['id']}.m3u8"
            media_playlist = nginx + requests.get(live_master, timeout=5).text.split()[-1]
            segments = [line for line in requests.get(media_playlist, timeout=5).text.split()
                        if not line.startswith("#")]
            assert segments and all(s.startswith(f"{hls_url}/v/") for s in segments), segments
            assert requests.get(segments[-1], timeout=5).status_code == 200
            expires = re.search(r"/s/(\d+)/", segments[-1]).group(1)
            tampered = segments[-1].replace(f"/s/{expires}/", f"/s/{int(expires) + 1}/")
            assert requests.get(tampered, timeout=5).status_code == 403
            assert {s["codec_type"] for s in probe(live_master)["streams"]} == {"video", "audio"}
            assert encoder.wait(timeout=30) == 0
        finally:
            stop(encoder)
        recording = wait_for(lambda: (s := requests.get(
            f"{nginx}/api/v1/live-streams/{stream['id']}", headers=auth, timeout=5).json())[
            "status"] == "idle" and s["recent_asset_ids"], timeout=30, what="the run to end")[0]

        # Everything plays through nginx, its media read from the bucket.
        assets = {uploaded: 4.0, imported: 3.0, recording: 8.0}
        for asset_id, seconds in assets.items():
            asset = _wait_for(platform, secret, asset_id, "ready", timeout=180)
            played = probe(f"{nginx}/v/{asset['playback_ids'][0]['id']}.m3u8")
            assert float(played["format"]["duration"]) == pytest.approx(seconds, abs=1.0)
        children = [line for line in (folder / "access.log").read_text().splitlines()
                    if "/s/" in line and ".m4s " in line]
        assert children and not any(f"upstream={urlsplit(u).netloc} " in line
                                    for line in children for u in web)

        # Deleting the assets deletes every object of theirs.
        for asset_id in assets:
            assert requests.delete(f"{nginx}/api/v1/assets/{asset_id}", headers=auth,
                                   timeout=10).status_code == 204
        wait_for(lambda: not s3_server.keys(bucket), timeout=60,
                 what="the bucket to be empty of them")

    # No machine keeps a file of the media: no staged part, no scratch copy, no segment,
    # no recording (the ingest node stored it in the bucket and let go of it).
    left = {str(home): [f for f in files_under(home) if f.endswith(MEDIA_FILES)]
            for home in homes if home.exists()}
    assert not any(left.values()), left

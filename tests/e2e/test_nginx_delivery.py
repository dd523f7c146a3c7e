"""Production delivery: real nginx with the deploy/nginx/ config in front of the platform.

nginx proxies the master playlist to the platform (which checks the JWT) and serves the
child playlists and segments itself after checking their path tokens with secure_link.
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
import requests

from playback import path_tokens
from tests.clips import make_clip, probe
from tests.e2e.conftest import ROOT, _free_port
from tests.e2e.test_vod_flow import _put, _wait_for

from .live import HAVE_RTMP, publish, start_ingest, stop, wait_for

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


@contextmanager
def running_nginx(platform, folder: Path, upstreams: list[str] | None = None):
    """nginx with the rendered standalone config, proxying to `platform` (or to each of
    `upstreams` in turn, base URLs of web servers); stopped after."""
    folder.mkdir()
    port = _free_port()
    conf = folder / "nginx.conf"
    upstream = ",".join(url.split("//", 1)[1] for url in upstreams or [platform.base_url])
    subprocess.run(
        [sys.executable, "manage.py", "render_nginx_delivery", "--standalone",
         "--listen", f"127.0.0.1:{port}", "--upstream", upstream,
         "--user", getpass.getuser(), "--output", str(conf)],
        cwd=ROOT, env=platform.env, check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", f"{folder}/", "-e", "error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start:\n"
                                       + (folder / "error.log").read_text(errors="replace")) from exc
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", folder
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful stop of the master and its workers
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def open_to_nginx(bucket: str) -> None:
    """nginx reads the bucket without credentials: the policy deploy/README.md gives lets
    this machine read the rendition folders, and nothing else."""
    from django.test import override_settings

    from playback.nginx_media import delivery_read_policy
    from tests import s3_server

    with override_settings(STORAGES={"default": s3_server.storage_settings(bucket)}):
        policy = delivery_read_policy(sources=["127.0.0.1/32"])
    s3_server.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _lines(path: Path, pattern: str) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if re.search(pattern, line)]


@pytest.mark.storage  # the media in files under MEDIA_ROOT, and in a bucket
@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
def test_nginx_serves_a_signed_asset_after_the_platform_checks_the_token(
        platform, environment, make_key, tmp_path, bucket):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    upload = requests.post(f"{platform.base_url}/api/v1/uploads", headers=auth, timeout=10,
                           json={"new_asset_settings": {"playback_policy": ["signed"]}}).json()
    source = make_clip(tmp_path / "clip.mp4", seconds=4, size="320x180")
    asset = _wait_for(platform, secret, _put(upload["url"], source)["asset_id"], "ready")
    playback_id = asset["playback_ids"][0]["id"]
    key = requests.post(f"{platform.base_url}/api/v1/signing-keys", headers=auth, timeout=30).json()
    token = jwt.encode({"sub": playback_id, "aud": "v", "exp": int(time.time()) + 300},
                       key["private_key"], algorithm="RS256", headers={"kid": key["id"]})

    if bucket is not None:
        from tests import s3_server

        open_to_nginx(bucket)
        # Nothing outside assets/ (originals) is for anyone without credentials. (Checked
        # on an object of its own: moto leaves one made by CompleteMultipartUpload, as
        # the original is, without an ACL and so readable by all, where S3 keeps it
        # private.)
        s3_server.client().put_object(Bucket=bucket, Key="uploads/upl_probe/master-0",
                                      Body=b"original")
        assert requests.get(f"{s3_server.endpoint()}/{bucket}/uploads/upl_probe/master-0",
                            timeout=10).status_code == 403

    with running_nginx(platform, tmp_path / "nginx") as (nginx, folder):
        master = f"{nginx}/v/{playback_id}.m3u8"

        # Without a token the platform refuses the master playlist, through nginx.
        refused = requests.get(master, timeout=10)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"

        # With one, ffprobe plays the whole asset through nginx.
        played = probe(f"{master}?token={token}")
        assert float(played["format"]["duration"]) == pytest.approx(4.0, abs=0.3)
        assert {s["codec_type"] for s in played["streams"]} == {"video", "audio"}

        # nginx answered every child playlist and segment itself; only the master went
        # to the platform, and the platform saw no child URL at all.
        access = folder / "access.log"
        upstream = platform.base_url.split("//", 1)[1]
        assert _lines(access, rf'"GET /v/{playback_id}\.m3u8\?token=\[token\] HTTP/1\.1" 200 .* '
                              rf"upstream={re.escape(upstream)} ")
        children = _lines(access, r'"GET /v/\S+/s/\d+/\[signature\]/')
        assert any(".m4s " in line for line in children)
        assert any(re.search(r"/init(_\d+)?\.mp4 ", line) for line in children)
        assert any("/index.m3u8 " in line for line in children)
        # (ffmpeg asks for byte ranges: 206.) From files, nginx reads them itself; from a
        # bucket, it asks the bucket (or its cache), never the platform.
        assert all(re.search(r'HTTP/1\.1" 20[06] \d+ upstream=\S+ ', line) for line in children)
        assert not any(f"upstream={upstream} " in line for line in children), children
        if bucket is None:
            assert all(" upstream=- " in line for line in children), children
        # Neither the JWT nor a path signature is written to nginx's log.
        assert token not in access.read_text() and token.split(".")[2] not in access.read_text()
        listed = requests.get(f"{master}?token={token}", timeout=10).text
        signature = next(line for line in listed.splitlines() if line.startswith("/v/")).split("/")[5]
        assert signature not in access.read_text()
        web_log = (platform.log_dir / "web.log").read_text(errors="replace")
        assert f"GET /v/{playback_id}.m3u8 200" in web_log
        assert "/s/" not in web_log and ".m4s" not in web_log

        # Types, CORS and caching as a player and a CDN need them.
        body = requests.get(f"{master}?token={token}", timeout=10).text
        media_playlist = nginx + next(line for line in body.splitlines() if line.startswith("/v/"))
        base = media_playlist.rsplit("/", 2)[0]  # .../{prefix}
        rendition = media_playlist.rsplit("/", 2)[1]
        playlist = requests.get(media_playlist, timeout=10)
        assert playlist.status_code == 200
        assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
        assert playlist.headers["Cache-Control"] == "public, max-age=2"
        assert playlist.headers["Access-Control-Allow-Origin"] == "*"
        segment_name = next(line for line in playlist.text.splitlines() if line.endswith(".m4s"))
        segment_url = f"{base}/{rendition}/{segment_name}"
        segment = requests.get(segment_url, timeout=10)
        assert segment.status_code == 200 and len(segment.content) > 1000
        assert segment.headers["Content-Type"] == "video/iso.segment"
        assert segment.headers["Cache-Control"] == "public, max-age=86400"
        init_name = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text).group(1)
        init = requests.get(f"{base}/{rendition}/{init_name}", timeout=10)
        assert init.status_code == 200 and init.headers["Content-Type"] == "video/mp4"

        # A tampered signature, a signature for another prefix, an expired token: 403.
        match = re.search(r"/v/(pbk_\w+)/s/(\d+)/([\w-]+)/(assets/\S+)$", base)
        pid, expires, sig, prefix = match.groups()
        assert pid == playback_id
        tampered = ("A" if sig[0] != "A" else "B") + sig[1:]
        assert requests.get(segment_url.replace(f"/{sig}/", f"/{tampered}/"),
                            timeout=10).status_code == 403
        other_prefix = prefix[:-1] + ("2" if prefix[-1] != "2" else "3")
        assert requests.get(segment_url.replace(prefix, other_prefix), timeout=10).status_code == 403
        now = int(time.time())
        fresh = path_tokens.child_base(playback_id=pid, prefix=prefix, expires=now + 60)
        assert requests.get(f"{nginx}{fresh}/{rendition}/{segment_name}", timeout=10).status_code == 200
        expired = path_tokens.child_base(playback_id=pid, prefix=prefix, expires=now - 5)
        response = requests.get(f"{nginx}{expired}/{rendition}/{segment_name}", timeout=10)
        assert response.status_code == 403
        assert response.headers["Access-Control-Allow-Origin"] == "*"

        # Paths that climb out of the signed prefix never reach a file (sent as written).
        host, port = nginx.split("//", 1)[1].split(":")
        for climb in (f"{rendition}/../../job_x/{rendition}/{segment_name}",
                      f"{rendition}/../../../../../../../etc/passwd",
                      f"{rendition}/..%2f..%2f{segment_name}",
                      f"{rendition}/../{segment_name}"):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("GET", base.removeprefix(nginx) + "/" + climb)
            status = connection.getresponse().status
            connection.close()
            assert status in (400, 403, 404), (climb, status)

        # With the platform stopped, child URLs already handed out keep playing through
        # nginx until their token expires; new master playlists cannot be had.
        platform.stop()
        alone = probe(media_playlist)
        assert float(alone["format"]["duration"]) == pytest.approx(4.0, abs=0.3)
        assert requests.get(f"{master}?token={token}", timeout=10).status_code == 502


@pytest.mark.live
@pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg")
def test_nginx_serves_live_segments_and_asks_the_platform_for_live_playlists(
        platform, environment, make_key, tmp_path):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    start_ingest(platform)
    stream = requests.post(f"{platform.base_url}/api/v1/live-streams", headers=auth, timeout=10,
                           json={"playback_policy": ["public"], "latency_mode": "low"}).json()
    encoder = publish(f"{stream['rtmp_url']}/{stream['stream_key']}", seconds=40)
    try:
        wait_for(lambda: requests.get(f"{platform.base_url}/api/v1/live-streams/{stream['id']}",
                                      headers=auth, timeout=5).json()["status"] == "active",
                 timeout=20, what="active")
        with running_nginx(platform, tmp_path / "nginx") as (nginx, folder):
            played = probe(f"{nginx}/v/{stream['playback_ids'][0]['id']}.m3u8")
            assert any(s["codec_type"] == "video" for s in played["streams"])
            access = folder / "access.log"
            segments = _lines(access, r'"GET /v/\S+/s/\S+/live/live-low/\S+\.ts ')
            playlists = _lines(access, r'"GET /v/\S+/s/\S+/live/live-low/\S+/index\.m3u8 ')
            assert segments and all("upstream=- " in line for line in segments), segments
            assert playlists and all(" 200 " in line and "upstream=-" not in line
                                     for line in playlists), playlists
            # A segment URL with a forged signature is refused by nginx itself.
            path = re.search(r'"GET (\S+\.ts) ', segments[0]).group(1)
            parts = path.split("/")
            parts[5] = "A" * 22
            assert requests.get(nginx + "/".join(parts), timeout=5).status_code == 403
    finally:
        stop(encoder)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
def test_nginx_serves_text_tracks_itself_with_their_path_token(platform, environment, make_key,
                                                               tmp_path):
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    upload = requests.post(f"{platform.base_url}/api/v1/uploads", headers=auth, timeout=10,
                           json={"new_asset_settings": {"playback_policy": ["public"]}}).json()
    asset = _wait_for(platform, secret, _put(upload["url"], make_clip(tmp_path / "clip.mp4"))
                      ["asset_id"], "ready")
    track = requests.post(f"{platform.base_url}/api/v1/assets/{asset['id']}/tracks", headers=auth,
                          files={"file": ("en.srt", b"1\n00:00:00,500 --> 00:00:01,500\nHi\n")},
                          data={"language_code": "en"}, timeout=10).json()
    master = f"/v/{asset['playback_ids'][0]['id']}.m3u8"

    with running_nginx(platform, tmp_path / "nginx") as (nginx, folder):
        listed = requests.get(nginx + master, timeout=10).text
        playlist_url = nginx + re.search(r'TYPE=SUBTITLES.*URI="([^"]+)"', listed).group(1)
        playlist = requests.get(playlist_url, timeout=10)
        vtt = requests.get(playlist_url.replace(".m3u8", ".vtt"), timeout=10)
        tampered = re.sub(r"/s/(\d+)/[^/]+/", r"/s/\1/AAAAAAAAAAAAAAAAAAAAAA/", vtt.url)
        refused = requests.get(tampered, timeout=10)
        # And with the platform stopped, the links handed out keep playing from nginx alone.
        platform.stop()
        alone = requests.get(vtt.url, timeout=10)

    assert playlist.status_code == 200
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert f"{track['id']}.vtt" in playlist.text
    assert vtt.status_code == 200 and vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.headers["Access-Control-Allow-Origin"] == "*"
    assert "00:00:00.500 --> 00:00:01.500\nHi" in vtt.text
    assert refused.status_code == 403
    assert alone.status_code == 200
    children = _lines(folder / "access.log", rf"/text/{track['id']}\.(m3u8|vtt) ")
    assert len(children) == 4 and all("upstream=- " in line for line in children), children


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")
def test_nginx_sends_downloads_and_their_ranges_once_the_platform_says_yes(
        platform, environment, make_key, tmp_path):
    platform.stop()
    platform.env["DOWNLOAD_ACCEL_PREFIX"] = "/_kino/downloads/"
    platform.start_web()
    _, secret = make_key(environment)
    auth = {"Authorization": f"Bearer {secret}"}
    platform.start_worker()
    upload = requests.post(f"{platform.base_url}/api/v1/uploads", headers=auth, timeout=10,
                           json={"new_asset_settings": {"title": "Launch", "mp4_support": "standard",
                                                        "playback_policy": ["public"]}}).json()
    asset_id = _put(upload["url"], make_clip(tmp_path / "clip.mp4", seconds=4))["asset_id"]
    _wait_for(platform, secret, asset_id, "ready")
    deadline = time.monotonic() + 60
    while True:  # the downloads are made by the worker after the asset is ready
        shown = requests.get(f"{platform.base_url}/api/v1/assets/{asset_id}", headers=auth,
                             timeout=10).json()
        if shown["static_renditions"] and all(
                d["status"] == "ready" for d in shown["static_renditions"]):
            break
        assert time.monotonic() < deadline, shown["static_renditions"]
        time.sleep(0.2)
    size = next(d["bytes"] for d in shown["static_renditions"] if d["name"] == "highest.mp4")
    url = f"/v/{shown['playback_ids'][0]['id']}/highest.mp4"

    with running_nginx(platform, tmp_path / "nginx") as (nginx, folder):
        whole = requests.get(nginx + url, timeout=10)
        part = requests.get(nginx + url, headers={"Range": "bytes=0-99"}, timeout=10)
        internal = requests.get(f"{nginx}/_kino/downloads/{asset_id}", timeout=10)
    (tmp_path / "got.mp4").write_bytes(whole.content)

    assert whole.status_code == 200 and len(whole.content) == size
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Content-Disposition"] == 'attachment; filename="Launch.mp4"'
    assert abs(float(probe(str(tmp_path / "got.mp4"))["format"]["duration"]) - 4) < 0.1
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert internal.status_code == 404  # the files are reachable only through the platform

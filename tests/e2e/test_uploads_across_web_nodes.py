"""A tus upload whose requests land on two web servers in turn, each with a disk of its
own, the media in a bucket: the bytes are staged in the bucket, so it completes whole,
plays, and leaves nothing on either server's disk nor any part in the bucket."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests import s3_server
from tests.clips import make_clip, probe

from .conftest import ROOT, files_under
from .live import free_port
from .test_vod_flow import _create_upload, _wait_for

pytestmark = pytest.mark.e2e
TUS = {"Tus-Resumable": "1.0.0"}


def second_web_node(platform, home: Path) -> str:
    port = free_port()
    env = {**platform.env, "VAR_DIR": str(home), "UPLOAD_STAGING_DIR": str(home / "staging"),
           "PROCESSING_TMP_DIR": str(home / "tmp"), "MEDIA_ROOT": str(home / "media")}
    log = open(platform.log_dir / "web-2.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "config.asgi:application"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    platform.workers.append(proc)  # stopped with the platform
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/healthz", timeout=2)
            return base
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the second web server did not start"
            time.sleep(0.1)


@pytest.mark.parametrize("media_backend", ["s3"], indirect=True)
def test_a_tus_upload_alternating_between_two_web_servers_completes_whole(
        platform, environment, make_key, tmp_path, bucket):
    _, secret = make_key(environment)
    nodes = [platform.base_url, second_web_node(platform, tmp_path / "web-2")]
    platform.start_worker()
    clip = make_clip(tmp_path / "clip.mp4", seconds=4, size="640x360").read_bytes()
    path = urlsplit(_create_upload(platform, secret)["url"]).path

    created = requests.post(nodes[1] + path, headers={**TUS, "Upload-Length": str(len(clip))},
                            timeout=10)
    assert created.status_code == 201, created.text
    size = -(-len(clip) // 5)
    offset = 0
    for i in range(5):  # node 1, 2, 1, 2, 1
        node = nodes[i % 2]
        if i:  # each request first asks where the upload stands, at the other server
            assert requests.head(node + path, headers=TUS, timeout=10).headers[
                "Upload-Offset"] == str(offset)
        answer = requests.patch(node + path, data=clip[offset:offset + size], timeout=30,
                                headers={**TUS, "Upload-Offset": str(offset),
                                         "Content-Type": "application/offset+octet-stream"})
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["Upload-Offset"])
    assert offset == len(clip)
    asset_id = answer.headers["Upload-Asset-Id"]

    asset = _wait_for(platform, secret, asset_id, "ready", timeout=120)
    played = probe(f"{nodes[1]}/v/{asset['playback_ids'][0]['id']}.m3u8")
    assert float(played["format"]["duration"]) == pytest.approx(4.0, abs=0.3)

    keys = s3_server.keys(bucket)
    masters = [k for k in keys if k.startswith("uploads/") and "/master-" in k]
    assert len(masters) == 1 and keys[masters[0]] == len(clip)
    assert not [k for k in keys if "/parts/" in k]
    # Nothing staged on either server's disk, and no copy of the file anywhere on them.
    for staging in (Path(platform.env["UPLOAD_STAGING_DIR"]), tmp_path / "web-2" / "staging"):
        assert not staging.exists() or files_under(staging) == []
    for home in (Path(platform.env["VAR_DIR"]), tmp_path / "web-2"):
        assert [f for f in files_under(home) if f.endswith((".mp4", ".m4s"))] == []

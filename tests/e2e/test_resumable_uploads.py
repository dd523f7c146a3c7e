"""Real tus clients against the running platform."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests
from tusclient import client as tus

from media_core.models import Upload
from tests.clips import make_clip, probe
from tests.e2e.conftest import ROOT, _free_port
from tests.e2e.test_vod_flow import _create_upload, _wait_for

pytestmark = pytest.mark.e2e


def test_tuspy_stopped_half_way_is_resumed_by_a_new_client_and_the_asset_is_ready(
        platform, environment, make_key, tmp_path):
    _, secret = make_key(environment)
    source = make_clip(tmp_path / "clip.mp4", seconds=5, size="320x180")
    size = source.stat().st_size
    platform.start_worker()
    upload = _create_upload(platform, secret)

    first = tus.TusClient(upload["url"]).uploader(
        str(source), chunk_size=64 * 1024, upload_checksum=True,
        metadata={"filename": "clip.mp4", "filetype": "video/mp4"})
    first.upload(stop_at=size // 2)
    offset = int(requests.head(upload["url"], headers={"Tus-Resumable": "1.0.0"}).headers["Upload-Offset"])
    assert size // 2 <= offset < size

    # Another process, another client: it knows only the URL and asks where to go on.
    second = tus.TusClient(upload["url"]).uploader(str(source), url=upload["url"],
                                                   chunk_size=64 * 1024)
    assert second.get_offset() == offset
    second.upload()

    asset_id = Upload.objects.get(pk=upload["id"]).asset_id
    asset = _wait_for(platform, secret, asset_id, "ready")
    assert asset["duration"] == pytest.approx(float(probe(str(source))["format"]["duration"]), abs=0.3)
    assert Upload.objects.get(pk=upload["id"]).filename == "clip.mp4"


def test_a_patch_cut_off_mid_body_keeps_what_arrived_under_gunicorn(
        environment, make_key, platform, tmp_path):
    """A streaming WSGI server hands the view the body as it arrives, so a dropped
    connection still leaves its bytes (the embedded ASGI server delivers only whole
    bodies, so there a cut request never reaches the view)."""
    _, secret = make_key(environment)
    upload = _create_upload(platform, secret)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1",
         "config.wsgi:application"], env=platform.env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        path = urlsplit(upload["url"]).path
        for _ in range(100):
            try:
                requests.options(base + path, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        created = requests.post(base + path, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1000000"})
        assert created.status_code == 201

        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                          "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                          "Content-Length: 1000000\r\n\r\n").encode() + b"a" * 300_000)
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = requests.head(base + path, headers={"Tus-Resumable": "1.0.0"})
            if state.headers["Upload-Offset"] != "0":
                break
            time.sleep(0.2)
        assert state.headers["Upload-Offset"] == "300000"

        rest = requests.patch(base + path, data=b"b" * 700_000, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "300000",
            "Content-Type": "application/offset+octet-stream"})
        assert (rest.status_code, rest.headers["Upload-Offset"]) == (204, "1000000")
    finally:
        server.terminate()
        server.wait(timeout=10)

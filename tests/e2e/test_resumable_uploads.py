"""Real tus clients against the running platform."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
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


@pytest.fixture
def gunicorn(platform):
    """Starts gunicorn (production's web server) on the test's platform; answers its port."""
    servers = []

    def start(*args: str) -> int:
        port = _free_port()
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", *args,
             "config.wsgi:application"], env=platform.env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/api/v1/uploads", timeout=2)
                return port
            except (requests.ConnectionError, requests.Timeout):  # a busy machine boots late
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=10)


def _tus_headers(offset: int, **extra: str) -> dict:
    return {"Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream", **extra}


def _sha256(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_patch_cut_off_mid_body_keeps_what_arrived_under_gunicorn(
        environment, make_key, platform, gunicorn):
    """A streaming WSGI server hands the view the body as it arrives, so a dropped
    connection still leaves its bytes (the embedded ASGI server delivers only whole
    bodies, so there a cut request never reaches the view)."""
    _, secret = make_key(environment)
    upload = _create_upload(platform, secret)
    port = gunicorn()
    base = f"http://127.0.0.1:{port}"
    path = urlsplit(upload["url"]).path
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

    rest = requests.patch(base + path, data=b"b" * 700_000, headers=_tus_headers(300_000))
    assert (rest.status_code, rest.headers["Upload-Offset"]) == (204, "1000000")


def test_under_gunicorn_the_bytes_stored_are_the_bytes_sent_and_checksums_and_limits_hold(
        environment, make_key, platform, gunicorn, media_root):
    """gunicorn's socket is read directly (media_core/request_body.py): the part of the
    body that came with the headers, pieces of every size, and the tus refusals."""
    _, secret = make_key(environment)
    upload = _create_upload(platform, secret)
    port = gunicorn()
    base = f"http://127.0.0.1:{port}"
    path = urlsplit(upload["url"]).path
    data = os.urandom(3_000_000)
    assert requests.post(base + path, headers={"Tus-Resumable": "1.0.0",
                                               "Upload-Length": str(len(data))}).status_code == 201

    first = requests.patch(base + path, data=data[:1_234_567],
                           headers=_tus_headers(0, **{"Upload-Checksum": _sha256(data[:1_234_567])}))
    assert (first.status_code, first.headers["Upload-Offset"]) == (204, "1234567")
    staged = Path(platform.env["UPLOAD_STAGING_DIR"]) / upload["id"]
    assert staged.read_bytes() == data[:1_234_567]

    wrong = requests.patch(base + path, data=data[1_234_567:2_000_000],
                           headers=_tus_headers(1_234_567, **{"Upload-Checksum": _sha256(b"other")}))
    assert (wrong.status_code, wrong.headers["Upload-Offset"]) == (460, "1234567")
    stale = requests.patch(base + path, data=b"x" * 1000, headers=_tus_headers(0))
    assert (stale.status_code, stale.headers["Upload-Offset"]) == (409, "1234567")
    too_long = requests.patch(base + path, data=data[1_234_567:] + b"extra",
                              headers=_tus_headers(1_234_567))
    assert (too_long.status_code, too_long.headers["Upload-Offset"]) == (413, "1234567")
    assert staged.read_bytes() == data[:1_234_567]

    # The rest in odd-sized pieces with pauses, the way a slow network delivers it.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("PATCH", path)
    for name, value in _tus_headers(1_234_567, **{"Content-Length": str(len(data) - 1_234_567)}).items():
        conn.putheader(name, value)
    conn.endheaders()
    for start in range(1_234_567, len(data), 179_999):
        conn.send(data[start:start + 179_999])
        time.sleep(0.01)
    last = conn.getresponse()
    conn.close()
    assert (last.status, last.headers["Upload-Offset"]) == (204, str(len(data)))
    [master] = (media_root / "uploads" / upload["id"]).glob("master-*")
    assert master.read_bytes() == data


def test_under_gunicorn_threads_a_kept_alive_connection_goes_on_after_a_patch(
        environment, make_key, platform, gunicorn):
    """The body is read past gunicorn's own readers; they must still know where the next
    request on the connection begins."""
    _, secret = make_key(environment)
    upload = _create_upload(platform, secret)
    port = gunicorn("--threads", "2")
    path = urlsplit(upload["url"]).path
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "300000"})
        assert conn.getresponse().read() == b""
        for offset, size in ((0, 1000), (1000, 200_000), (201_000, 99_000)):
            conn.request("PATCH", path, body=b"z" * size, headers=_tus_headers(offset))
            answer = conn.getresponse()
            answer.read()
            assert (answer.status, answer.headers["Upload-Offset"]) == (204, str(offset + size))
            conn.request("HEAD", path, headers={"Tus-Resumable": "1.0.0"})
            state = conn.getresponse()
            state.read()
            assert (state.status, state.headers["Upload-Offset"]) == (200, str(offset + size))
    finally:
        conn.close()

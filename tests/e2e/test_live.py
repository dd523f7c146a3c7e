"""Live streams through the running platform: web, worker and live_ingest as processes,
FFmpeg encoders publishing RTMP and SRT to a real nginx-rtmp, playback over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from foundation.tenancy import api_key_create, environment_get_or_create
from live.models import LiveSession
from tests.clips import probe

from .live import HAVE_RTMP, publish, rtmp_sink, start_ingest, stop, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_RTMP, reason="needs nginx, libnginx-mod-rtmp and ffmpeg"),
]


class Api:
    def __init__(self, platform):
        from foundation.context import Actor

        env = environment_get_or_create(name="production", actor=Actor.system("test"))
        _, self.secret = api_key_create(environment=env, name="live e2e", scopes=["all"],
                                        actor=Actor.system("test"))
        self.base = platform.base_url

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1/{path}", timeout=10,
                                headers={"Authorization": f"Bearer {self.secret}"}, **kwargs)

    def stream(self, stream_id: str) -> dict:
        return self.call("GET", f"live-streams/{stream_id}").json()

    def create(self, **body) -> dict:
        response = self.call("POST", "live-streams", json={"playback_policy": ["public"], **body})
        assert response.status_code == 201, response.text
        return response.json()


def _refused(proc: subprocess.Popen, timeout: float = 15) -> bool:
    """The encoder gave up (refused) rather than streaming on."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        return False
    return proc.returncode != 0


def _with_key(url: str, key: str) -> str:
    return f"{url}/{key}"


def test_rtmp_stream_plays_is_healthy_records_one_asset_across_a_reconnect(platform):
    platform.start_worker()
    start_ingest(platform)
    api = Api(platform)
    created = api.create(new_asset_settings={"playback_policy": ["public"], "title": "Show"},
                         reconnect_window=6, latency_mode="low")
    stream_id, key = created["id"], created["stream_key"]
    assert created["status"] == "idle" and key.startswith(f"{stream_id}?key=")
    assert created["rtmp_url"].endswith(f":{platform.env['RTMP_PORT']}/live-low")
    assert api.stream(stream_id)["stream_key"] is None  # shown once

    # A wrong key is refused before any media is accepted.
    wrong = publish(_with_key(created["rtmp_url"], f"{stream_id}?key=not-the-key"), seconds=5)
    assert _refused(wrong)
    assert not LiveSession.objects.filter(stream_id=stream_id).exists()

    # The right key: active once the first playlist is written, and it plays.
    first = publish(_with_key(created["rtmp_url"], key), seconds=8)
    try:
        wait_for(lambda: api.stream(stream_id)["status"] == "active", timeout=20, what="active")
        master = f"{platform.base_url}/v/{created['playback_ids'][0]['id']}.m3u8"
        streams = probe(master)["streams"]
        video = next(s for s in streams if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (320, 180)
        assert any(s["codec_type"] == "audio" for s in streams)
        # The key is in no playback URL.
        assert "key" not in requests.get(master, timeout=5).text

        # Health, through the API, while publishing.
        health = wait_for(lambda: (h := api.stream(stream_id)["health"])["bitrate"]
                          and h["keyframe_interval"] and h, timeout=10, what="health")
        assert health["connected"] and not health["stalled"]
        assert health["bitrate"] > 20_000
        assert (health["width"], health["height"]) == (320, 180)
        assert 25 <= health["frame_rate"] <= 35
        assert 0.8 <= health["keyframe_interval"] <= 1.2

        # A publisher that stays connected but sends nothing is flagged as stalled.
        os.killpg(first.pid, signal.SIGSTOP)
        wait_for(lambda: api.stream(stream_id)["health"]["stalled"], timeout=15, what="stalled")
        os.killpg(first.pid, signal.SIGCONT)
        wait_for(lambda: not api.stream(stream_id)["health"]["stalled"], timeout=15,
                 what="not stalled")
        assert first.wait(timeout=30) == 0  # -t 8: eight seconds of media sent
    finally:
        stop(first)

    # The encoder left; inside the reconnect window the stream stays active...
    wait_for(lambda: not api.stream(stream_id)["health"]["connected"], timeout=10,
             what="disconnected")
    assert api.stream(stream_id)["status"] == "active"
    # ...and a reconnect continues the same run and the same recording.
    second = publish(_with_key(created["rtmp_url"], key), seconds=4)
    assert second.wait(timeout=30) == 0
    idle = wait_for(lambda: (s := api.stream(stream_id))["status"] == "idle" and s, timeout=30,
                    what="idle after the reconnect window")
    assert len(idle["recent_asset_ids"]) == 1
    asset_id = idle["recent_asset_ids"][0]

    def ready():
        asset = api.call("GET", f"assets/{asset_id}").json()
        assert asset["status"] != "errored", asset
        return asset if asset["status"] == "ready" else None

    asset = wait_for(ready, timeout=90, interval=0.5, what="the recording to be ready")
    assert asset["live_stream_id"] == stream_id
    assert abs(asset["duration"] - 12.0) <= 1.0, asset["duration"]
    events = [e["type"] for e in api.call("GET", "events?limit=100").json()["data"]][::-1]
    for expected in ["video.live_stream.connected", "video.live_stream.active",
                     "video.live_stream.disconnected", "video.live_stream.idle",
                     "video.asset.live_stream_completed", "video.asset.ready"]:
        assert expected in events, events
    assert events.count("video.live_stream.idle") == 1

    # Disabling an active stream drops the encoder; a disabled stream is refused.
    third = publish(_with_key(created["rtmp_url"], key), seconds=60)
    try:
        wait_for(lambda: api.stream(stream_id)["status"] == "active", timeout=20, what="active")
        assert api.call("POST", f"live-streams/{stream_id}/disable").json()["status"] == "disabled"
        assert _refused(third, timeout=15)
    finally:
        stop(third)
    refused = publish(_with_key(created["rtmp_url"], key), seconds=5)
    assert _refused(refused)
    # Nothing of the key reached the ingest's logs or file names.
    secret = key.split("key=", 1)[1]
    live_dir = platform.env["LIVE_DIR"]
    for folder, _, files in os.walk(live_dir):
        assert all(secret not in name for name in files)
        for name in files:
            if name.endswith((".log", ".m3u8")):
                with open(os.path.join(folder, name), errors="replace") as fh:
                    assert secret not in fh.read(), name
    for log_name in ("web.log", "worker.log", "ingest.log"):
        assert secret not in platform.log(log_name)


def test_srt_caller_with_the_passphrase_plays_and_a_wrong_one_is_refused(platform):
    start_ingest(platform)
    api = Api(platform)
    created = api.create(latency_mode="low")
    srt_url = created["srt_url"]
    assert srt_url.startswith("srt://") and "passphrase=" in srt_url
    stream_id = created["id"]
    # The listener for a new stream starts with the ingest's next report.
    time.sleep(2)

    wrong = srt_url.split("passphrase=")[0] + "passphrase=wrong-passphrase-123"
    assert _refused(publish(wrong + "&mode=caller", seconds=5, fmt="mpegts"), timeout=15)

    encoder = publish(srt_url + "&mode=caller", seconds=30, fmt="mpegts")
    try:
        active = wait_for(lambda: (s := api.stream(stream_id))["status"] == "active" and s,
                          timeout=30, what="active over SRT")
        assert active["health"]["connected"]
        streams = probe(f"{platform.base_url}/v/{created['playback_ids'][0]['id']}.m3u8")["streams"]
        assert any(s["codec_type"] == "video" and s["width"] == 320 for s in streams)
        session = LiveSession.objects.get(stream_id=stream_id)
        assert session.via == "srt"
    finally:
        stop(encoder)


def test_rtmps_publishes_and_plays_and_a_wrong_key_over_it_is_refused(platform):
    start_ingest(platform)
    api = Api(platform)
    created = api.create(latency_mode="low")
    assert created["rtmps_url"] == (f"rtmps://127.0.0.1:{platform.env['RTMPS_PORT']}/live-low")
    stream_id = created["id"]

    wrong = publish(_with_key(created["rtmps_url"], f"{stream_id}?key=not-the-key"), seconds=5)
    assert _refused(wrong)
    assert api.stream(stream_id)["status"] == "idle"

    encoder = publish(_with_key(created["rtmps_url"], created["stream_key"]), seconds=30)
    try:
        active = wait_for(lambda: (s := api.stream(stream_id))["status"] == "active" and s,
                          timeout=30, what="active over RTMPS")
        assert active["health"]["connected"]
        streams = probe(f"{platform.base_url}/v/{created['playback_ids'][0]['id']}.m3u8")["streams"]
        assert any(s["codec_type"] == "video" and s["width"] == 320 for s in streams)
        # The encoder's own address reaches nginx-rtmp (PROXY protocol), not the socket's.
        session = LiveSession.objects.get(stream_id=stream_id)
        assert (session.via, session.address) == ("rtmp", "127.0.0.1")

        # Its thumbnail is a recent frame: two fetches 5 s apart show different moments.
        thumbnail = f"{platform.base_url}/v/{created['playback_ids'][0]['id']}/thumbnail.jpg"
        first, again = requests.get(thumbnail, timeout=10), requests.get(thumbnail, timeout=10)
        time.sleep(5)
        later = requests.get(thumbnail, timeout=10)
        assert [r.status_code for r in (first, again, later)] == [200, 200, 200]
        assert first.headers["Content-Type"] == "image/jpeg"
        assert again.content == first.content  # within its two seconds: the same picture
        assert later.content != first.content
        assert max(r.elapsed.total_seconds() for r in (first, later)) < 2.0
    finally:
        stop(encoder)


def test_simulcast_target_receives_the_stream_and_its_relay_stops_with_the_source(platform, tmp_path):
    start_ingest(platform)
    api = Api(platform)
    created = api.create()
    stream_id = created["id"]
    with rtmp_sink(tmp_path / "sink") as sink:
        response = api.call("POST", f"live-streams/{stream_id}/simulcast-targets",
                            json={"url": sink.server, "stream_key": "show-key-1"})
        assert response.status_code == 201, response.text
        target = response.json()
        assert target["status"] == "idle" and target["stream_key"] == "…ey-1"

        encoder = publish(_with_key(created["rtmp_url"], created["stream_key"]), seconds=40)
        try:
            def broadcasting():
                targets = api.stream(stream_id)["simulcast_targets"]
                return targets[0]["status"] == "broadcasting"

            wait_for(broadcasting, timeout=30, what="broadcasting")
            assert sink.publishing("show-key-1")
            streams = probe(f"rtmp://127.0.0.1:{sink.port}/sink/show-key-1")["streams"]
            assert any(s["codec_type"] == "video" and s["width"] == 320 for s in streams)
        finally:
            stop(encoder)

        wait_for(lambda: api.stream(stream_id)["simulcast_targets"][0]["status"] == "idle",
                 timeout=20, what="the target to go idle")
        wait_for(lambda: not sink.publishing("show-key-1"), timeout=10, what="the sink to stop")
        relays = subprocess.run(["pgrep", "-f", "sink/show-key-1"], capture_output=True, text=True)
        assert relays.stdout.strip() == "", "a relay process was left behind"
    events = [e["type"] for e in api.call("GET", "events?limit=100").json()["data"]]
    assert "video.live_stream.simulcast_target.broadcasting" in events
    assert "video.live_stream.simulcast_target.idle" in events
